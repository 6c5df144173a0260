// In-memory image datasets (28×28 gray, [0,1], light ink on black) and index-based views of them.
import { Rng, deriveSeed } from './rng.js';

export const IMAGE_SIZE = 28;
export const PIXELS = IMAGE_SIZE * IMAGE_SIZE;

export interface ImageDataset {
  /** e.g. "mnist/train", "fashion/test", "folder:/path" */
  name: string;
  /** where it was read from (files or folder), for reports and the model card */
  source: string;
  n: number;
  /** n × 784 floats in [0,1] */
  pixels: Float32Array;
  labels: Uint8Array;
  classNames: string[];
}

/** A subset of a dataset by index (no pixel copies). */
export interface DataView {
  ds: ImageDataset;
  indices: Uint32Array;
  /** short description, e.g. "mnist/train[55000 of 60000, seed 1]" */
  label: string;
}

export function fullView(ds: ImageDataset): DataView {
  const indices = new Uint32Array(ds.n);
  for (let i = 0; i < ds.n; i++) indices[i] = i;
  return { ds, indices, label: ds.name };
}

/**
 * Carve a validation set out of a training set: a seeded permutation, the first `valSize`
 * indices are validation, the rest training. Same seed → same split on every machine.
 */
export function splitTrainVal(ds: ImageDataset, valSize: number, seed: number): { train: DataView; val: DataView } {
  if (!Number.isInteger(valSize) || valSize < 0 || valSize >= ds.n) {
    throw new Error(`validation size ${valSize} must be an integer in [0, ${ds.n - 1}] for ${ds.name} (${ds.n} images)`);
  }
  const perm = new Rng(deriveSeed(seed, 0x5e1a)).permutation(ds.n);
  const val = perm.slice(0, valSize).sort();
  const train = perm.slice(valSize).sort();
  return {
    train: { ds, indices: train, label: `${ds.name}[train ${train.length} of ${ds.n}, split seed ${seed}]` },
    val: { ds, indices: val, label: `${ds.name}[val ${val.length} of ${ds.n}, split seed ${seed}]` },
  };
}

/** A seeded, stratification-free random subset of a view (for quick runs and tests). */
export function subsetView(view: DataView, size: number, seed: number): DataView {
  if (size >= view.indices.length) return view;
  const perm = new Rng(deriveSeed(seed, 0x50b5)).permutation(view.indices.length);
  const indices = new Uint32Array(size);
  for (let i = 0; i < size; i++) indices[i] = view.indices[perm[i]!]!;
  indices.sort();
  return { ds: view.ds, indices, label: `${view.label}[subset ${size}, seed ${seed}]` };
}

/** Copy the images/labels of `indices[from..from+count)` of a view into batch buffers. */
export function gatherBatch(view: DataView, order: Uint32Array, from: number, count: number,
  x: Float32Array, y: Int32Array): void {
  const { pixels, labels } = view.ds;
  for (let b = 0; b < count; b++) {
    const idx = view.indices[order[from + b]!]!;
    x.set(pixels.subarray(idx * PIXELS, (idx + 1) * PIXELS), b * PIXELS);
    y[b] = labels[idx]!;
  }
}

/** Class counts of a view, for reports. */
export function classCounts(view: DataView): number[] {
  const counts = new Array<number>(view.ds.classNames.length).fill(0);
  for (const i of view.indices) counts[view.ds.labels[i]!]! += 1;
  return counts;
}
