// A real onnxruntime session wrapped so tests can hold runs (to fill queues, pass deadlines) and
// make chosen runs fail. The wrapped session still does the real inference.
import type { ModelSession, RunResult } from '../../../src/inference/model-session.js';
import { OrtModelSession } from '../../../src/inference/ort-session.js';
import { buildTinyModel, type TinyModelOptions } from './tiny-model.js';

export const POISON = -1; // an image whose first pixel is -1 makes the run fail

export class ControlledSession implements ModelSession {
  batches: number[] = [];
  failAll = false;
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;

  constructor(private readonly inner: ModelSession) {}

  static async create(opts: TinyModelOptions = {}): Promise<ControlledSession> {
    return new ControlledSession(await OrtModelSession.create(buildTinyModel(opts), { providers: ['cpu'], intraOpThreads: 1 }));
  }

  get provider() { return this.inner.provider; }
  get description() { return this.inner.description; }
  hold(): void { this.gate = new Promise((r) => { this.openGate = r; }); }
  release(): void { this.openGate?.(); this.gate = undefined; }

  async run(input: Float32Array, n: number): Promise<RunResult> {
    this.batches.push(n);
    if (this.gate) await this.gate;
    if (this.failAll) throw new Error('injected failure: secret internal detail');
    for (let i = 0; i < n; i++) if (input[i * 784] === POISON) throw new Error('poisoned batch');
    return this.inner.run(input, n);
  }

  async dispose(): Promise<void> { await this.inner.dispose(); }
}

/** Poll until `cond` holds (a wait with a generous cap, not a speed check). */
export async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`gave up waiting for ${what}`);
}
