// Optimisers as graph ops inside the train-step graph. lr and step are graph inputs (scalars), so
// schedules need no rebuild. Semantics follow PyTorch:
//   AdamW: p ← p·(1 − lr·wd) − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)   (decoupled decay)
//   SGD:   g ← g + wd·p;  b ← μ·b + g;  p ← p − lr·(nesterov ? g + μ·b : b)
// Optional clipping scales all gradients by min(1, maxNorm / (‖g‖₂ + 1e-6)) first.
import type { Graph } from '../onnx/graph.js';
import type { Value } from '../onnx/types.js';

export interface OptimizerConfig {
  kind: 'adamw' | 'sgd';
  beta1?: number;
  beta2?: number;
  eps?: number;
  momentum?: number;
  nesterov?: boolean;
  weightDecay: number;
  clipGlobalNorm?: number;
  /** Which params get weight decay; default: rank >= 2 (not biases or norm params). */
  decay?: (paramName: string) => boolean;
}

export interface OptParam { name: string; value: Value; grad: Value; decay: boolean }
export interface OptimizerGraph {
  /** Next value of each param and each optimizer state tensor, by name. */
  next: Map<string, Value>;
  /** Optimizer state inputs (zero-initialised), by name -> shape. */
  state: Map<string, number[]>;
  /** Global gradient norm before clipping (scalar). */
  gradNorm: Value;
}

export const STATE_SUFFIXES = ['.adam_m', '.adam_v', '.momentum'] as const;

function globalNorm(g: Graph, grads: Value[]): Value {
  const sq = grads.map((v) => g.op1('ReduceSumSquare', [v], { keepdims: 0 }));
  return g.op1('Sqrt', [sq.length === 1 ? sq[0] : g.op1('Sum', sq)]);
}

export function validateOptimizer(c: OptimizerConfig): void {
  const bad = (m: string) => { throw new Error(`optimizer: ${m}`); };
  if (c.kind !== 'adamw' && c.kind !== 'sgd') bad(`unknown kind ${String(c.kind)}`);
  if (!(c.weightDecay >= 0)) bad('weightDecay must be >= 0');
  for (const [k, v] of [['beta1', c.beta1], ['beta2', c.beta2], ['momentum', c.momentum]] as const) {
    if (v !== undefined && !(v >= 0 && v < 1)) bad(`${k} must be in [0,1)`);
  }
  if (c.eps !== undefined && !(c.eps > 0)) bad('eps must be > 0');
  if (c.clipGlobalNorm !== undefined && !(c.clipGlobalNorm > 0)) bad('clipGlobalNorm must be > 0');
}

export function buildOptimizer(g: Graph, c: OptimizerConfig, params: OptParam[], lr: Value, step: Value): OptimizerGraph {
  validateOptimizer(c);
  const next = new Map<string, Value>();
  const state = new Map<string, number[]>();
  const stateInput = (name: string, like: Value) => {
    state.set(name, like.shape as number[]);
    return g.input(name, 'float32', like.shape);
  };
  const mul = (a: Value, b: Value) => g.op1('Mul', [a, b]);
  const gradNorm = globalNorm(g, params.map((p) => p.grad));
  let grads = params.map((p) => p.grad);
  if (c.clipGlobalNorm !== undefined) {
    const factor = g.op1('Min', [g.scalar(1), g.op1('Div', [g.scalar(c.clipGlobalNorm), g.op1('Add', [gradNorm, g.scalar(1e-6)])])]);
    grads = grads.map((v) => mul(v, factor));
  }
  const wd = c.weightDecay;
  if (c.kind === 'adamw') {
    const b1 = c.beta1 ?? 0.9; const b2 = c.beta2 ?? 0.999; const eps = c.eps ?? 1e-8;
    // NOTE: 1 - β^t in float64: in float32, 1 - 0.999 alone is off by 1.3e-5 relative.
    const step64 = g.op1('Cast', [step], { to: 11 });
    const d = (x: number) => g.constant(new Float64Array([x]), []);
    const bc = (b: number) => g.op1('Cast', [g.op1('Sub', [d(1), g.op1('Pow', [d(b), step64])])], { to: 1 });
    const bc1 = bc(b1);
    const bc2 = bc(b2);
    const stepSize = g.op1('Div', [lr, bc1]);
    const invSqrtBc2 = g.op1('Reciprocal', [g.op1('Sqrt', [bc2])]);
    const decayFactor = g.op1('Sub', [g.scalar(1), mul(lr, g.scalar(wd))]);
    params.forEach((p, i) => {
      const gr = grads[i];
      const m = g.op1('Add', [mul(stateInput(`${p.name}.adam_m`, p.value), g.scalar(b1)), mul(gr, g.scalar(1 - b1))]);
      const v = g.op1('Add', [mul(stateInput(`${p.name}.adam_v`, p.value), g.scalar(b2)), mul(mul(gr, gr), g.scalar(1 - b2))]);
      const denom = g.op1('Add', [mul(g.op1('Sqrt', [v]), invSqrtBc2), g.scalar(eps)]);
      const base = p.decay && wd > 0 ? mul(p.value, decayFactor) : p.value;
      next.set(p.name, g.op1('Sub', [base, mul(stepSize, g.op1('Div', [m, denom]))]));
      next.set(`${p.name}.adam_m`, m);
      next.set(`${p.name}.adam_v`, v);
    });
  } else {
    const mu = c.momentum ?? 0.9;
    params.forEach((p, i) => {
      let gr = grads[i];
      if (p.decay && wd > 0) gr = g.op1('Add', [gr, mul(p.value, g.scalar(wd))]);
      let upd = gr;
      if (mu > 0) {
        const buf = g.op1('Add', [mul(stateInput(`${p.name}.momentum`, p.value), g.scalar(mu)), gr]);
        next.set(`${p.name}.momentum`, buf);
        upd = c.nesterov ? g.op1('Add', [gr, mul(buf, g.scalar(mu))]) : buf;
      }
      next.set(p.name, g.op1('Sub', [p.value, mul(lr, upd)]));
    });
  }
  return { next, state, gradNorm };
}
