// A user's own labelled digits: DIR/<digit>/*.png, each image run through the service's
// preprocessing (src/preprocess/) so training sees exactly what the service will feed the model.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve, extname } from 'node:path';
import { PIXELS, type ImageDataset } from './dataset.js';
import { DIGIT_CLASSES, DatasetNotFoundError } from './sources.js';
import { preprocessImage, type Preprocessed } from '../../src/preprocess/index.js';

export class FolderDatasetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FolderDatasetError';
  }
}

export interface FolderOptions {
  /** pixel limit per decoded image (passed to the preprocessor) */
  maxPixels?: number;
  /** keep images the preprocessor finds blank (default: skip them, they carry no label signal) */
  keepBlank?: boolean;
}

export interface FolderDataset extends ImageDataset {
  files: string[];
  skippedBlank: string[];
}

/** Read DIR/<digit>/*.png. Errors name the folder or file at fault. */
export async function loadFolderDataset(dir: string, opts: FolderOptions = {}): Promise<FolderDataset> {
  const root = resolve(dir);
  let entries: string[];
  try {
    if (!statSync(root).isDirectory()) throw new FolderDatasetError(`${root} is not a directory`);
    entries = readdirSync(root).filter((e) => !e.startsWith('.'));
  } catch (e) {
    if (e instanceof FolderDatasetError) throw e;
    throw new DatasetNotFoundError(`folder dataset ${root} not found: create ${root}/<digit>/*.png (one sub-folder per label 0-9)`);
  }
  const files: string[] = [];
  const labels: number[] = [];
  for (const entry of entries.sort()) {
    const sub = join(root, entry);
    if (!statSync(sub).isDirectory()) continue;
    const label = DIGIT_CLASSES.indexOf(entry);
    if (label < 0) throw new FolderDatasetError(`${sub}: sub-folder names must be single digits 0-9 (the label), found "${entry}"`);
    for (const f of readdirSync(sub).sort()) {
      if (f.startsWith('.') || extname(f).toLowerCase() !== '.png') continue;
      files.push(join(sub, f));
      labels.push(label);
    }
  }
  if (files.length === 0) throw new FolderDatasetError(`${root}: no PNG files found under ${root}/<digit>/`);

  const pixels = new Float32Array(files.length * PIXELS);
  const keptFiles: string[] = [];
  const keptLabels: number[] = [];
  const skippedBlank: string[] = [];
  for (let i = 0; i < files.length; i++) {
    const file = files[i]!;
    let out: Preprocessed;
    try {
      out = await preprocessImage(readFileSync(file), { mode: 'auto', maxPixels: opts.maxPixels ?? 4_000_000 });
    } catch (e) {
      const code = (e as { code?: string }).code;
      throw new FolderDatasetError(`${file}: ${code ? `${code}: ` : ''}${(e as Error).message}`);
    }
    if (out.pixels.length !== PIXELS) throw new FolderDatasetError(`${file}: preprocessing gave ${out.pixels.length} values, expected ${PIXELS}`);
    if (out.blank && !opts.keepBlank) {
      skippedBlank.push(file);
      continue;
    }
    pixels.set(out.pixels, keptFiles.length * PIXELS);
    keptFiles.push(file);
    keptLabels.push(labels[i]!);
  }
  if (keptFiles.length === 0) throw new FolderDatasetError(`${root}: all ${files.length} images are blank after preprocessing`);
  return {
    name: `folder:${root}`,
    source: root,
    n: keptFiles.length,
    pixels: pixels.slice(0, keptFiles.length * PIXELS),
    labels: Uint8Array.from(keptLabels),
    classNames: DIGIT_CLASSES,
    files: keptFiles,
    skippedBlank,
  };
}
