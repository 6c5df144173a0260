// The one place the pipeline meets the training engine (training/runner, see training/README-api.md).
import type { ArchConfig } from '../nn/arch.js';
import type { RunConfig } from '../model/config.js';
import { Trainer } from '../runner/trainer.js';
import { CheckpointError } from './checkpoint.js';

export interface TrainerTensor { shape: number[]; data: Float32Array }
export interface TrainerStateLike { step: number; tensors: Record<string, TrainerTensor> }

/** The part of the engine's Trainer the pipeline uses. */
export interface TrainerLike {
  readonly paramShapes: Record<string, number[]>;
  readonly step: number;
  trainStep(x: Float32Array, labels: Int32Array, lr: number): Promise<{ loss: number; correct: number }>;
  predict(x: Float32Array, n: number): Promise<Float32Array>;
  getState(): TrainerStateLike;
  setState(s: TrainerStateLike): void;
  buildEvalModel(opts?: { foldBatchNorm?: boolean; metadata?: Record<string, string> }): Uint8Array;
  dispose(): Promise<void>;
}

export interface CreateOptions {
  arch: ArchConfig;
  config: RunConfig;
  seed: number;
  threads?: number;
  /** only the classifier trains (finetune --freeze-backbone) */
  freezeBackbone?: boolean;
  /** override the config's batch size (export/evaluate sessions) */
  batchSize?: number;
}

export const HEAD_PREFIX = 'head.';

export async function createTrainer(o: CreateOptions): Promise<TrainerLike> {
  const t = o.config.train;
  return Trainer.create({
    arch: o.arch,
    optimizer: { ...t.optimizer },
    batchSize: o.batchSize ?? t.batchSize,
    labelSmoothing: t.labelSmoothing,
    seed: o.seed,
    intraOpThreads: o.threads ?? 2,
    // a frozen backbone runs in eval mode: its BN layers use and keep their running statistics
    ...(o.freezeBackbone ? { frozen: (name: string) => !name.startsWith(HEAD_PREFIX), freezeBatchNormStats: true } : {}),
  });
}

/**
 * Load a checkpoint's tensors into a trainer. A checkpoint whose tensors do not fit the trainer's
 * network (a missing tensor, another shape) is a CheckpointError naming the file.
 */
export function restoreCheckpointState(trainer: TrainerLike, state: TrainerStateLike, file: string): void {
  try {
    trainer.setState(state);
  } catch (e) {
    throw new CheckpointError(file, `does not fit the network it names (${(e as Error).message}; was it written by another version?)`);
  }
}
