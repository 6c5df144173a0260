// onnxruntime-node implementation of ModelSession. It owns execution-provider fallback:
// onnxruntime-node does not fall back by itself (asking for ['cuda','cpu'] throws when the CUDA
// provider library is missing), so each configured provider is tried alone, in order, and every
// failure is reported with its reason. This module blocks the thread it runs on during run():
// the service uses it inside a worker (worker.ts), never on the HTTP event loop.
import * as ort from 'onnxruntime-node';
import type { ExecutionProviderName } from '../config.js';
import { describeModel } from './model-file.js';
import { PIXELS_PER_IMAGE, type ModelDescription, type ModelSession, type RunResult } from './model-session.js';

export interface OrtSessionOptions {
  providers: readonly ExecutionProviderName[];
  /** 0 lets onnxruntime choose. */
  intraOpThreads: number;
}

export interface ProviderAttempt { provider: ExecutionProviderName; ok: boolean; error?: string }

export class NoProviderError extends Error {
  readonly attempts: ProviderAttempt[];
  constructor(attempts: ProviderAttempt[]) {
    super(`no execution provider could load the model: ${attempts.map((a) => `${a.provider}: ${a.error}`).join('; ')}`);
    this.name = 'NoProviderError';
    this.attempts = attempts;
  }
}

export class FeedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FeedError';
  }
}

function softmaxRows(logits: Float32Array, classes: number): Float32Array {
  const out = new Float32Array(logits.length);
  for (let r = 0; r < logits.length / classes; r++) {
    const o = r * classes;
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[o + c]);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += out[o + c] = Math.exp(logits[o + c] - max);
    for (let c = 0; c < classes; c++) out[o + c] /= sum;
  }
  return out;
}

export class OrtModelSession implements ModelSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly provider: ExecutionProviderName,
    readonly description: ModelDescription,
    readonly attempts: ProviderAttempt[],
  ) {}

  static async create(bytes: Uint8Array, opts: OrtSessionOptions): Promise<OrtModelSession> {
    const description = describeModel(bytes);
    const attempts: ProviderAttempt[] = [];
    for (const provider of opts.providers) {
      try {
        const session = await ort.InferenceSession.create(bytes, {
          executionProviders: [provider],
          intraOpNumThreads: opts.intraOpThreads,
          interOpNumThreads: 1,
          graphOptimizationLevel: 'all',
          logSeverityLevel: 3,
        });
        attempts.push({ provider, ok: true });
        return new OrtModelSession(session, provider, description, attempts);
      } catch (e) {
        attempts.push({ provider, ok: false, error: (e instanceof Error ? e.message : String(e)).split('\n')[0] });
      }
    }
    throw new NoProviderError(attempts);
  }

  /** Check the feed at the boundary, naming the tensor, before onnxruntime sees it. */
  private checkFeed(input: Float32Array, n: number): void {
    const name = this.description.inputName;
    if (!Number.isInteger(n) || n < 1) throw new FeedError(`input "${name}": batch size must be a positive integer, got ${n}`);
    if (input.length !== n * PIXELS_PER_IMAGE) {
      throw new FeedError(`input "${name}": expected ${n}×${PIXELS_PER_IMAGE} = ${n * PIXELS_PER_IMAGE} floats, got ${input.length}`);
    }
  }

  async run(input: Float32Array, n: number): Promise<RunResult> {
    this.checkFeed(input, n);
    const d = this.description;
    const inputInfo = d.inputs[0];
    const dims = inputInfo.shape.length === 2 ? [n, PIXELS_PER_IMAGE] : [n, 1, 28, 28];
    const feeds = { [d.inputName]: new ort.Tensor('float32', input, dims) };
    const out = await this.session.run(feeds, [d.probabilitiesOutput]);
    const tensor = out[d.probabilitiesOutput];
    const data = tensor.data;
    if (!(data instanceof Float32Array) || data.length !== n * d.classes) {
      throw new FeedError(`output "${d.probabilitiesOutput}": expected ${n}×${d.classes} float32, got ${tensor.type} [${tensor.dims.join(',')}]`);
    }
    const probabilities = d.softmaxApplied ? softmaxRows(data, d.classes) : new Float32Array(data);
    tensor.dispose();
    return { probabilities };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
