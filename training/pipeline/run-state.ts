// What a training checkpoint carries besides the engine's tensors, and where runs keep files.
import { join } from 'node:path';
import type { RunConfig } from '../model/config.js';
import type { ArchConfig } from '../nn/arch.js';
import type { EpochRecord } from './report/charts.js';

export type Phase = 'pretrain' | 'finetune';

export interface CheckpointMeta {
  format: 'onnx-digits-checkpoint';
  version: 1;
  run: string;
  phase: Phase;
  config: RunConfig;
  configSha: string;
  /** the network trained (the config's, or the standard-conv twin in the conv ablation) */
  arch: ArchConfig;
  data: string;
  /** description of the training view (dataset, split, seed) */
  trainView: string;
  valView: string;
  seed: number;
  epochs: number;
  maxLr: number;
  freezeBackbone: boolean;
  /** checkpoint this run was initialised from (finetune) */
  from: string | null;
  subset: number | null;
  /** epochs fully done */
  epoch: number;
  /** batches done within epoch `epoch` (0 at an epoch boundary) */
  batch: number;
  /** running sums of the epoch in progress, so its record is right after a resume */
  partial: { lossSum: number; correct: number; seen: number; seconds: number };
  engineStep: number;
  history: EpochRecord[];
  /** BN statistics re-estimated on clean training images after the last epoch (validation before → after) */
  bnRecalibration?: { batches: number; before: ValResult; after: ValResult; seconds: number } | null;
  /** wall time spent training so far, summed over resumes */
  trainSeconds: number;
  complete: boolean;
  savedAt: string;
}

export interface ValResult { valAcc: number | null; valLoss: number | null }

/** The validation result a phase ended with: after BN recalibration when there was one. */
export function finalValidation(m: Pick<CheckpointMeta, 'history' | 'bnRecalibration'>): ValResult {
  const last = m.history.at(-1);
  return m.bnRecalibration?.after ?? { valAcc: last?.valAcc ?? null, valLoss: last?.valLoss ?? null };
}

export const CHECKPOINT_ROOT = 'checkpoints';
export const REPORT_ROOT = 'reports';

export function runDir(run: string, root = CHECKPOINT_ROOT): string {
  return join(root, run);
}

export function lastCheckpoint(run: string, root = CHECKPOINT_ROOT): string {
  return join(root, run, 'last.ckpt');
}

export function epochCheckpoint(run: string, epoch: number, root = CHECKPOINT_ROOT): string {
  return join(root, run, `epoch-${epoch}.ckpt`);
}
