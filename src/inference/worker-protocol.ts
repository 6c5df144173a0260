// Messages between the worker pool (main thread) and worker.ts.
import type { ExecutionProviderName } from '../config.js';
import type { ModelDescription } from './model-session.js';
import type { ProviderAttempt } from './ort-session.js';

export interface WorkerInit {
  modelBytes: Uint8Array;
  providers: ExecutionProviderName[];
  intraOpThreads: number;
}

export type ToWorker =
  | { type: 'run'; id: number; input: Float32Array; n: number }
  | { type: 'close' };

export type ToMain =
  | { type: 'ready'; provider: ExecutionProviderName; description: ModelDescription; attempts: ProviderAttempt[] }
  | { type: 'load-error'; message: string; attempts: ProviderAttempt[] }
  | { type: 'result'; id: number; probabilities: Float32Array }
  | { type: 'run-error'; id: number; message: string };
