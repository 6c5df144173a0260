// onnxruntime-node implementation of ModelSession. It owns execution-provider fallback:
// onnxruntime-node does not fall back by itself (asking for ['cuda','cpu'] throws when the CUDA
// provider library is missing), so each configured provider is tried alone, in order, and every
// failure is reported with its reason. This module blocks the thread it runs on during run():
// the service uses it inside a worker (worker.ts), never on the HTTP event loop (the start-up
// check, checkModelRuns, runs one small batch in the main thread before the server listens).
import * as ort from 'onnxruntime-node';
import type { ExecutionProviderName } from '../config.js';
import { describeModel, ModelFileError } from './model-file.js';
import { PIXELS_PER_IMAGE, type ModelDescription, type ModelSession, type RunResult } from './model-session.js';

export interface OrtSessionOptions {
  providers: readonly ExecutionProviderName[];
  /** 0 lets onnxruntime choose. */
  intraOpThreads: number;
  /** Keep onnxruntime's own logger off stderr, even for errors (they still reject with the reason). */
  quiet?: boolean;
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

/**
 * onnxruntime's error text on one line. Native errors carry the C++ source location and the
 * throwing function's signature ("/onnxruntime_src/.../model.cc:191 onnxruntime::Model::Model(...)
 * Missing opset in the model. ...", at the start or after "Status Message: "): those are dropped,
 * and line breaks are folded.
 */
export function ortMessage(e: unknown): string {
  let text = (e instanceof Error ? e.message : String(e)).trim();
  const location = /\S+\.(?:cc|cpp|cxx|h|hpp):\d+ /g;
  let m: RegExpExecArray | null;
  while ((m = location.exec(text))) {
    // the signature runs to the parenthesis that closes its parameter list (templates nest them)
    const open = text.indexOf('(', m.index + m[0].length);
    let close = -1;
    for (let i = open, depth = 0; open >= 0 && i < text.length; i++) {
      if (text[i] === '(') depth++;
      else if (text[i] === ')' && --depth === 0) { close = i; break; }
    }
    if (close < 0) break;
    const rest = text.slice(close + 1).replace(/^\s*(?:const\b)?\s*/, '');
    if (!rest) break;
    text = text.slice(0, m.index) + rest;
    location.lastIndex = m.index;
  }
  return text.split(/\s*\n\s*/).filter(Boolean).join('; ').replace(/\s+/g, ' ');
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
    private readonly runOptions: ort.InferenceSession.RunOptions,
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
          logSeverityLevel: opts.quiet ? 4 : 3,
        });
        attempts.push({ provider, ok: true });
        return new OrtModelSession(session, provider, description, attempts, opts.quiet ? { logSeverityLevel: 4 } : {});
      } catch (e) {
        attempts.push({ provider, ok: false, error: ortMessage(e) });
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
    const out = await this.session.run(feeds, [d.probabilitiesOutput], this.runOptions);
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

/**
 * The start-up check behind MODEL_PATH (server.ts, before listening): the file's contract
 * (describeModel), then onnxruntime itself on CPU, in this thread, opening the model and running
 * one blank batch of 2 images, as the workers will. An unknown operator or opset, a shape the
 * model cannot take, or an output of the wrong size is then a ModelFileError with onnxruntime's
 * reason on one line, instead of a worker failing after the port is open. The session is released.
 */
export async function checkModelRuns(bytes: Uint8Array): Promise<void> {
  let session: OrtModelSession;
  try {
    session = await OrtModelSession.create(bytes, { providers: ['cpu'], intraOpThreads: 1, quiet: true });
  } catch (e) {
    if (e instanceof NoProviderError) throw new ModelFileError(`onnxruntime cannot load it: ${e.attempts[0]?.error ?? e.message}`);
    throw e; // ModelFileError: the contract
  }
  try {
    await session.run(new Float32Array(2 * PIXELS_PER_IMAGE), 2);
  } catch (e) {
    throw new ModelFileError(`onnxruntime cannot run it on a batch of 2 images: ${ortMessage(e)}`);
  } finally {
    await session.dispose();
  }
}
