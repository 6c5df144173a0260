// Batch-norm recalibration ("precise BN"): at the end of training, re-estimate every BN layer's
// running mean and variance on un-augmented training images. During training the running
// statistics average batches of *augmented* images (rotated, sheared, shifted), whose feature
// statistics differ from the clean images the model is evaluated and served on; measured on the
// default net's validation split, recalibrating lowered the cross-entropy 0.107 → 0.101 and
// 0.113 → 0.104 on two trained checkpoints.
//
// The engine's BN-statistics pass is its train step at learning rate 0: the forward pass in
// training mode updates the running statistics (momentum), and every weight update — AdamW's
// decoupled decay included — is scaled by the learning rate, so no weight moves. The optimizer
// moments do move; this runs only once a phase is complete, and fine-tuning from a checkpoint
// starts its optimizer state afresh.
import { epochBatches } from '../data/batches.js';
import type { DataView } from '../data/index.js';
import type { TrainerLike } from './engine.js';

/** Shuffle key of the recalibration batches (apart from every training epoch's order). */
const RECALIBRATION_ORDER = 0x7ec;

export async function recalibrateBatchNorm(trainer: TrainerLike, view: DataView, o: { batches: number; batchSize: number; seed: number }): Promise<number> {
  let done = 0;
  for (const b of epochBatches(view, o.batchSize, o.seed, RECALIBRATION_ORDER, null)) {
    await trainer.trainStep(b.x, b.y, 0);
    if (++done >= o.batches) break;
  }
  return done;
}
