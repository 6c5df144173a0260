// Layer builders shared by the train-mode and eval-mode graphs. A NetContext decides where
// parameters come from (graph inputs for training, initializers for export) and what each mode
// does with batch norm and dropout.
import type { Graph } from '../onnx/graph.js';
import { float } from '../onnx/types.js';
import type { Attrs, Value } from '../onnx/types.js';
import type { Activation } from './arch.js';

export type Init = { kind: 'he'; fanIn: number } | { kind: 'uniform'; bound: number } | { kind: 'const'; value: number };

export interface ParamSpec {
  name: string;
  shape: number[];
  init: Init;
  /** Weight decay applies (rank >= 2 by default; biases and norm params are exempt). */
  decay: boolean;
}

export type Mode = 'train' | 'eval' | 'export';

export interface NetContext {
  readonly g: Graph;
  readonly mode: Mode;
  readonly bnMomentum: number;
  readonly bnEps: number;
  /** Export with BN folded into the preceding conv. */
  readonly foldBatchNorm: boolean;
  /** A trainable parameter. */
  param(spec: ParamSpec): Value;
  /** A non-trainable buffer (BN running statistics). */
  buffer(name: string, shape: number[], init: number): Value;
  /** Train mode: the buffer's value after this step. */
  updateBuffer(name: string, next: Value): void;
  /** Export mode: the current data of a param/buffer (for folding). */
  data(name: string): Float32Array;
  /** Train mode: whether the BN layer `name` (both params frozen) uses its running statistics
   *  instead of batch statistics, leaving them unchanged (a frozen backbone in eval mode). */
  frozenStats?(name: string): boolean;
  /** Train mode: a dropout mask input of `shape`, fed each step (0 or 1/(1-p)). */
  dropoutMask(name: string, shape: number[], p: number): Value;
}

export interface ConvSpec { name: string; out: number; k: number; dilation: number; stride: number; group: number }

function convAttrs(s: ConvSpec) {
  const p = (s.dilation * (s.k - 1)) / 2;
  if (!Number.isInteger(p)) throw new Error(`${s.name}: 'same' padding needs an odd kernel (k=${s.k})`);
  return { group: s.group, dilations: [s.dilation, s.dilation], strides: [s.stride, s.stride], pads: [p, p, p, p], kernel_shape: [s.k, s.k] };
}

function convWeight(ctx: NetContext, s: ConvSpec, cin: number): Value {
  const fanIn = (cin / s.group) * s.k * s.k;
  return ctx.param({ name: `${s.name}.weight`, shape: [s.out, cin / s.group, s.k, s.k], init: { kind: 'he', fanIn }, decay: true });
}

/** Conv without bias (a BN follows). */
export function conv(ctx: NetContext, x: Value, s: ConvSpec): Value {
  return ctx.g.op1('Conv', [x, convWeight(ctx, s, x.shape[1] as number)], convAttrs(s));
}

/** Conv followed by batch norm (`bn` names the norm's params); folded into one Conv on export. */
export function convBn(ctx: NetContext, x: Value, s: ConvSpec, bn: string): Value {
  const cin = x.shape[1] as number;
  if (ctx.mode === 'export' && ctx.foldBatchNorm) {
    const w = ctx.data(`${s.name}.weight`);
    const gamma = ctx.data(`${bn}.weight`); const beta = ctx.data(`${bn}.bias`);
    const mean = ctx.data(`${bn}.running_mean`); const varr = ctx.data(`${bn}.running_var`);
    const per = w.length / s.out;
    const fw = new Float32Array(w.length);
    const fb = new Float32Array(s.out);
    for (let o = 0; o < s.out; o++) {
      const scale = gamma[o] / Math.sqrt(varr[o] + ctx.bnEps);
      for (let i = 0; i < per; i++) fw[o * per + i] = w[o * per + i] * scale;
      fb[o] = beta[o] - mean[o] * scale;
    }
    const wv = ctx.g.initializer(`${s.name}.weight_folded`, [s.out, cin / s.group, s.k, s.k], fw);
    const bv = ctx.g.initializer(`${s.name}.bias_folded`, [s.out], fb);
    return ctx.g.op1('Conv', [x, wv, bv], convAttrs(s));
  }
  return batchNorm(ctx, conv(ctx, x, s), bn);
}

/** Batch norm over N,H,W. Train: batch statistics from primitives, running stats updated
 *  (PyTorch convention: run = (1-m)·run + m·batch, running var unbiased). Eval: running stats. */
export function batchNorm(ctx: NetContext, x: Value, name: string): Value {
  const g = ctx.g;
  const C = x.shape[1] as number;
  const gamma = ctx.param({ name: `${name}.weight`, shape: [C], init: { kind: 'const', value: 1 }, decay: false });
  const beta = ctx.param({ name: `${name}.bias`, shape: [C], init: { kind: 'const', value: 0 }, decay: false });
  const rm = ctx.buffer(`${name}.running_mean`, [C], 0);
  const rv = ctx.buffer(`${name}.running_var`, [C], 1);
  if (ctx.mode !== 'train' || ctx.frozenStats?.(name)) {
    return g.op1('BatchNormalization', [x, gamma, beta, rm, rv], { epsilon: float(ctx.bnEps) });
  }
  // Batch statistics from two fast reductions (NOTE: var = E[x²] - E[x]², clamped at 0; fine in
  // float32 for conv outputs whose |mean| is within a few std), then one affine kernel.
  const n = (x.shape[0] as number) * (x.shape[2] as number) * (x.shape[3] as number);
  const sumNHW = (v: Value) => g.op1('ReduceSum', [v, g.ints([0, 2, 3])], { keepdims: 0 });
  const mean = g.op1('Mul', [sumNHW(x), g.scalar(1 / n)]);
  const meanSq = g.op1('Mul', [sumNHW(g.op1('Mul', [x, x])), g.scalar(1 / n)]);
  const variance = g.op1('Relu', [g.op1('Sub', [meanSq, g.op1('Mul', [mean, mean])])]);
  const y = g.op1('BatchNormalization', [x, gamma, beta, mean, variance], { epsilon: float(ctx.bnEps) });
  const m = ctx.bnMomentum;
  const blend = (run: Value, batch: Value) => g.op1('Add', [g.op1('Mul', [run, g.scalar(1 - m)]), g.op1('Mul', [batch, g.scalar(m)])]);
  ctx.updateBuffer(`${name}.running_mean`, blend(rm, mean));
  ctx.updateBuffer(`${name}.running_var`, blend(rv, g.op1('Mul', [variance, g.scalar(n / Math.max(n - 1, 1))])));
  return y;
}

export function activation(ctx: NetContext, x: Value, kind: Activation): Value {
  const g = ctx.g;
  switch (kind) {
    case 'relu': return g.op1('Relu', [x]);
    case 'silu': return g.op1('Mul', [x, g.op1('Sigmoid', [x])]);
    case 'gelu': { // exact GELU: x/2 · (1 + erf(x/√2))
      const e = g.op1('Erf', [g.op1('Mul', [x, g.scalar(Math.SQRT1_2)])]);
      return g.op1('Mul', [g.op1('Mul', [x, g.scalar(0.5)]), g.op1('Add', [e, g.scalar(1)])]);
    }
  }
}

/** Inverted dropout with a mask fed from outside (seeded, so runs and resumes are reproducible). */
export function dropout(ctx: NetContext, x: Value, name: string, p: number): Value {
  if (p === 0 || ctx.mode !== 'train') return x;
  return ctx.g.op1('Mul', [x, ctx.dropoutMask(name, x.shape as number[], p)]);
}

export function maxPool(ctx: NetContext, x: Value, k: 2 | 3): Value {
  const attrs: Attrs = k === 2 ? { kernel_shape: [2, 2], strides: [2, 2] } : { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] };
  // Training keeps the argmax Indices for the gradient (MaxUnpool / ScatterElements): measured
  // faster in the whole train step than the single-output pool + tile-compare gradient.
  return ctx.mode === 'train' ? ctx.g.op('MaxPool', [x], attrs, 2)[0] : ctx.g.op1('MaxPool', [x], attrs);
}

export function linear(ctx: NetContext, x: Value, name: string, out: number): Value {
  const cin = x.shape[1] as number;
  const bound = 1 / Math.sqrt(cin);
  const w = ctx.param({ name: `${name}.weight`, shape: [out, cin], init: { kind: 'uniform', bound }, decay: true });
  const b = ctx.param({ name: `${name}.bias`, shape: [out], init: { kind: 'uniform', bound }, decay: false });
  return ctx.g.op1('Gemm', [x, w, b], { transB: 1 });
}
