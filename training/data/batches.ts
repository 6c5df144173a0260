// Mini-batches for one epoch: a seeded shuffle per (seed, epoch), fixed batch size (the engine's
// train step has a fixed batch, so the partial last batch is dropped — a different subset each
// epoch because the order changes), and per-batch augmentation seeded by (seed, epoch, batch).
// Any batch can be regenerated exactly, which is what makes mid-epoch resume exact.
import { Rng, deriveSeed } from './rng.js';
import { PIXELS, gatherBatch, type DataView } from './dataset.js';
import type { Augmenter } from '../augment/affine.js';

export interface Batch {
  index: number;
  x: Float32Array;
  y: Int32Array;
}

export function batchesPerEpoch(view: DataView, batchSize: number): number {
  return Math.floor(view.indices.length / batchSize);
}

export function epochOrder(view: DataView, seed: number, epoch: number): Uint32Array {
  return new Rng(deriveSeed(seed, epoch, 0x5fff)).permutation(view.indices.length);
}

/** Yield the batches of `epoch`, starting at batch `from` (for resume). Buffers are reused. */
export function* epochBatches(view: DataView, batchSize: number, seed: number, epoch: number,
  augment: Augmenter | null, from = 0): Generator<Batch> {
  const order = epochOrder(view, seed, epoch);
  const total = batchesPerEpoch(view, batchSize);
  if (total === 0) throw new Error(`${view.label}: ${view.indices.length} images is fewer than one batch of ${batchSize}`);
  const raw = new Float32Array(batchSize * PIXELS);
  const x = augment ? new Float32Array(batchSize * PIXELS) : raw;
  const y = new Int32Array(batchSize);
  for (let b = from; b < total; b++) {
    gatherBatch(view, order, b * batchSize, batchSize, raw, y);
    if (augment) augment.apply(raw, batchSize, x, new Rng(deriveSeed(seed, epoch, b, 0xa06)));
    yield { index: b, x, y };
  }
}

/** Sequential chunks of a view without shuffling or augmentation (evaluation); last chunk may be short. */
export function* evalChunks(view: DataView, chunk: number): Generator<{ from: number; n: number; x: Float32Array; y: Int32Array }> {
  const order = new Uint32Array(view.indices.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  for (let from = 0; from < order.length; from += chunk) {
    const n = Math.min(chunk, order.length - from);
    const x = new Float32Array(n * PIXELS);
    const y = new Int32Array(n);
    gatherBatch(view, order, from, n, x, y);
    yield { from, n, x, y };
  }
}
