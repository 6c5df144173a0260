// What a training checkpoint carries besides the engine's tensors, and where runs keep files.
import { join } from 'node:path';
import { z } from 'zod';
import { runConfigSchema, type RunConfig } from '../model/config.js';
import { loadCheckpoint, type Tensor } from './checkpoint.js';
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

const count = z.number().int().min(0);
const valResult = z.object({ valAcc: z.number().nullable(), valLoss: z.number().nullable() });
const epochRecord = z.object({
  epoch: z.number().int().positive(), lr: z.number(), trainLoss: z.number().nullable(), trainAcc: z.number().nullable(),
  valLoss: z.number().nullable(), valAcc: z.number().nullable(), imagesPerSec: z.number().nullable(), seconds: z.number().nullable(),
});
// unknown keys are allowed (a newer writer may add fields); what the pipeline reads must be there
const metaSchema = z.object({
  run: z.string().min(1),
  phase: z.enum(['pretrain', 'finetune']),
  config: runConfigSchema,
  configSha: z.string(),
  arch: runConfigSchema.shape.arch.extend({ name: z.string(), inputShape: z.tuple([z.literal(1), z.literal(28), z.literal(28)]) }).optional(),
  data: z.string().min(1),
  trainView: z.string(),
  valView: z.string(),
  seed: count,
  epochs: z.number().int().positive(),
  maxLr: z.number().positive(),
  freezeBackbone: z.boolean(),
  from: z.string().nullable(),
  subset: z.number().int().positive().nullable(),
  epoch: count,
  batch: count,
  partial: z.object({ lossSum: z.number(), correct: z.number(), seen: z.number(), seconds: z.number() }),
  engineStep: count,
  history: z.array(epochRecord),
  bnRecalibration: z.object({ batches: count, before: valResult, after: valResult, seconds: z.number() }).nullable().optional(),
  trainSeconds: z.number().min(0),
  complete: z.boolean(),
  savedAt: z.string(),
});

/** What is wrong with a decoded checkpoint's meta for the training pipeline, or null when nothing. */
export function checkpointMetaProblem(meta: unknown): string | null {
  const m = meta as Record<string, unknown>;
  if (m.format !== 'onnx-digits-checkpoint') return `not an onnx-digits training checkpoint (meta.format is ${JSON.stringify(m.format) ?? 'missing'})`;
  if (m.version !== 1) return `checkpoint version ${JSON.stringify(m.version) ?? '(missing)'} is not supported (this code reads version 1)`;
  const r = metaSchema.safeParse(meta);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `meta.${i.path.join('.')}: ${i.message}`);
    return `corrupt checkpoint meta: ${issues.slice(0, 3).join('; ')}${issues.length > 3 ? `; and ${issues.length - 3} more` : ''}`;
  }
  const v = r.data;
  if (v.epoch > v.epochs) return `corrupt checkpoint meta: meta.epoch ${v.epoch} exceeds meta.epochs ${v.epochs}`;
  return null;
}

/** A training checkpoint, its meta validated (every problem is a CheckpointError naming the file). */
export function loadRunCheckpoint(file: string): { meta: CheckpointMeta; tensors: Record<string, Tensor> } {
  return loadCheckpoint<CheckpointMeta>(file, checkpointMetaProblem);
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
