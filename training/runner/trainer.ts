// The Trainer: one train-step session and one eval session, built once from the same model
// definition. Params, optimizer state and BN running stats live as onnxruntime tensors that are
// fed to each step; the step's `<name>.next` outputs become the next step's feeds (no copies in
// JS). getState/setState copy them out/in exactly.
import type { ArchConfig } from '../nn/arch.js';
import type { Init } from '../nn/layers.js';
import { Rng } from '../nn/rng.js';
import { createSession, f32, floatData, makeTensor, type Session, type Tensor } from '../onnx/runtime.js';
import { serialize } from '../onnx/serialize.js';
import { STATE_SUFFIXES, type OptimizerConfig } from '../optim/optimizer.js';
import { buildEvalGraph, buildExportGraph, buildTrainGraph, type MaskSpec, type TrainGraph } from './graphs.js';

export type { OptimizerConfig };

export interface TrainerOptions {
  arch: ArchConfig;
  optimizer: OptimizerConfig;
  batchSize: number;
  labelSmoothing?: number;
  seed: number;
  intraOpThreads?: number;
  bnMomentum?: number;
  bnEps?: number;
  frozen?: (paramName: string) => boolean;
  /** With `frozen`: BN layers whose weight and bias are both frozen run on their running
   *  statistics in the train step and keep them unchanged (default false: batch statistics,
   *  running stats keep updating). */
  freezeBatchNormStats?: boolean;
  /** Write an onnxruntime profile of the train session (file prefix). */
  profile?: string;
  /** Extra onnxruntime session config entries for both sessions. */
  sessionConfig?: Record<string, string>;
}

export interface TrainerState {
  step: number;
  tensors: Record<string, { shape: number[]; data: Float32Array }>;
}

export interface StepResult { loss: number; correct: number }

function initData(init: Init, n: number, rng: Rng): Float32Array {
  switch (init.kind) {
    case 'const': return new Float32Array(n).fill(init.value);
    case 'he': { const std = Math.sqrt(2 / init.fanIn); return rng.fill(n, (r) => r.normal() * std); }
    case 'uniform': return rng.fill(n, (r) => (r.uniform() * 2 - 1) * init.bound);
  }
}

function fillMask(m: MaskSpec, rng: Rng): Float32Array {
  const n = m.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const keep = 1 / (1 - m.p);
  const threshold = m.p * 4294967296;
  for (let i = 0; i < n; i++) out[i] = rng.next() < threshold ? 0 : keep;
  return out;
}

export class Trainer {
  readonly paramShapes: Record<string, number[]>;
  private stepCount = 0;
  private readonly tensors = new Map<string, Tensor>();
  private readonly shapes = new Map<string, number[]>();
  private disposed = false;

  private constructor(
    private readonly o: Required<Pick<TrainerOptions, 'arch' | 'optimizer' | 'batchSize' | 'seed' | 'bnMomentum' | 'bnEps'>>,
    private readonly tg: TrainGraph,
    private readonly train: Session,
    private readonly evalSession: Session,
  ) {
    this.paramShapes = Object.fromEntries(tg.params.map((p) => [p.name, [...p.shape]]));
    const rng = new Rng(o.seed, 0x1417);
    for (const p of tg.params) this.put(p.name, p.shape, initData(p.init, p.shape.reduce((a, b) => a * b, 1), rng));
    for (const b of tg.buffers) this.put(b.name, b.shape, new Float32Array(b.shape.reduce((a, c) => a * c, 1)).fill(b.init));
    for (const [name, shape] of tg.optState) this.put(name, shape, new Float32Array(shape.reduce((a, b) => a * b, 1)));
  }

  static async create(o: TrainerOptions): Promise<Trainer> {
    if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${o.batchSize}`);
    if (!Number.isInteger(o.seed)) throw new Error('seed must be an integer');
    const bnMomentum = o.bnMomentum ?? 0.1;
    const bnEps = o.bnEps ?? 1e-5;
    const tg = buildTrainGraph({
      arch: o.arch, optimizer: o.optimizer, batchSize: o.batchSize, labelSmoothing: o.labelSmoothing ?? 0,
      frozen: o.frozen ?? (() => false), freezeBatchNormStats: o.freezeBatchNormStats, bnMomentum, bnEps,
    });
    const threads = o.intraOpThreads ?? 2;
    // Idle intra-op threads sleep instead of spinning: on the shared 2-core machine spinning
    // steals the cores the other thread needs (measured: 617 vs 774 ms per step under load).
    const config = { 'session.intra_op.allow_spinning': '0', ...o.sessionConfig };
    const train = await createSession(serialize(tg.graph), { threads, profile: o.profile, config });
    const evalSession = await createSession(serialize(buildEvalGraph(o.arch, { bnMomentum, bnEps })), { threads, config });
    return new Trainer({ arch: o.arch, optimizer: o.optimizer, batchSize: o.batchSize, seed: o.seed, bnMomentum, bnEps }, tg, train, evalSession);
  }

  get step(): number {
    return this.stepCount;
  }

  /** The train-step ONNX graph's node count (diagnostics). */
  get trainGraphNodes(): number {
    return this.tg.graph.nodes.length;
  }

  private put(name: string, shape: number[], data: Float32Array): void {
    this.shapes.set(name, [...shape]);
    this.tensors.set(name, f32(data, shape));
  }

  private live(): void {
    if (this.disposed) throw new Error('trainer is disposed');
  }

  private checkBatch(x: Float32Array, n: number): void {
    const per = this.o.arch.inputShape.reduce<number>((a, b) => a * b, 1);
    if (!(x instanceof Float32Array) || x.length !== n * per) {
      throw new Error(`input must be a Float32Array of ${n}×${this.o.arch.inputShape.join('×')} = ${n * per} values, got ${x?.length}`);
    }
  }

  async trainStep(x: Float32Array, labels: Int32Array, lr: number): Promise<StepResult> {
    this.live();
    const B = this.o.batchSize;
    this.checkBatch(x, B);
    if (!(labels instanceof Int32Array) || labels.length !== B) throw new Error(`labels must be an Int32Array of ${B} values (partial batches: drop or pad)`);
    for (const l of labels) if (!(l >= 0 && l < this.o.arch.classes)) throw new Error(`label ${l} is outside [0, ${this.o.arch.classes})`);
    if (!Number.isFinite(lr) || lr < 0) throw new Error(`lr must be a finite number >= 0, got ${lr}`);
    const t = this.stepCount + 1;
    const feeds: Record<string, Tensor> = {};
    for (const [k, v] of this.tensors) feeds[k] = v;
    feeds.input = f32(x, [B, ...this.o.arch.inputShape]);
    feeds.labels = makeTensor('int32', labels, [B]);
    feeds.lr = f32(new Float32Array([lr]), []);
    feeds.step = f32(new Float32Array([t]), []);
    this.tg.masks.forEach((m, i) => { feeds[m.name] = f32(fillMask(m, new Rng(this.o.seed, t, i + 1)), m.shape); });
    const out = await this.train.run(feeds);
    for (const name of this.tg.carried) this.tensors.set(name, out[`${name}.next`]);
    this.stepCount = t;
    return { loss: floatData(out.loss, 'loss')[0], correct: Math.round(floatData(out.correct, 'correct')[0]) };
  }

  /** Logits [n, classes] in eval mode (BN running stats, no dropout). */
  async predict(x: Float32Array, n: number): Promise<Float32Array> {
    this.live();
    if (!Number.isInteger(n) || n < 1) throw new Error(`n must be a positive integer, got ${n}`);
    this.checkBatch(x, n);
    const feeds: Record<string, Tensor> = {};
    for (const name of this.evalSession.inputNames) if (name !== 'input') feeds[name] = this.tensors.get(name)!;
    feeds.input = f32(x, [n, ...this.o.arch.inputShape]);
    const out = await this.evalSession.run(feeds);
    return floatData(out.logits, 'logits');
  }

  getState(): TrainerState {
    const tensors: TrainerState['tensors'] = {};
    for (const [name, t] of this.tensors) tensors[name] = { shape: [...this.shapes.get(name)!], data: Float32Array.from(t.data as Float32Array) };
    return { step: this.stepCount, tensors };
  }

  /** Restores params, BN stats and optimizer state exactly. Params and BN stats are required;
   *  optimizer state of another optimizer kind is ignored, missing optimizer state starts at zero. */
  setState(s: TrainerState): void {
    this.live();
    if (!Number.isInteger(s.step) || s.step < 0) throw new Error(`state.step must be an integer >= 0, got ${s.step}`);
    const next = new Map<string, Tensor>();
    for (const [name, shape] of this.shapes) {
      const src = s.tensors[name];
      const isOpt = this.tg.optState.has(name);
      if (!src) {
        if (isOpt) { next.set(name, f32(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape)); continue; }
        throw new Error(`state has no tensor ${name}`);
      }
      if (src.shape.length !== shape.length || src.shape.some((d, i) => d !== shape[i])) throw new Error(`state tensor ${name} has shape [${src.shape}], expected [${shape}]`);
      if (!(src.data instanceof Float32Array) || src.data.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`state tensor ${name} must be a Float32Array of ${shape.reduce((a, b) => a * b, 1)} values`);
      next.set(name, f32(Float32Array.from(src.data), shape));
    }
    for (const name of Object.keys(s.tensors)) {
      if (!this.shapes.has(name) && !STATE_SUFFIXES.some((suf) => name.endsWith(suf))) throw new Error(`state tensor ${name} is not part of this model`);
    }
    for (const [k, v] of next) this.tensors.set(k, v);
    this.stepCount = s.step;
  }

  /** Standalone inference ONNX: input `input` [N,1,28,28], outputs `logits`, `probabilities`. */
  buildEvalModel(opts: { foldBatchNorm?: boolean; metadata?: Record<string, string> } = {}): Uint8Array {
    this.live();
    const g = buildExportGraph(this.o.arch, {
      bnMomentum: this.o.bnMomentum, bnEps: this.o.bnEps, foldBatchNorm: opts.foldBatchNorm ?? true,
      data: (name) => { const t = this.tensors.get(name); if (!t) throw new Error(`no tensor ${name}`); return Float32Array.from(t.data as Float32Array); },
    });
    return serialize(g, { metadata: opts.metadata, docString: `${this.o.arch.name} exported by onnx-digits` });
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.train.release();
    await this.evalSession.release();
  }
}
