// The one gradient-check helper. Builds forward + backward graphs with the engine, runs them in
// onnxruntime, and compares each input's gradient with central differences of the scalar
// L = Σ y ⊙ R (R a fixed random tensor) along random directions v:
//   (L(x + h v) - L(x - h v)) / 2h  vs  <∂L/∂x, v>.
// Each float input is checked along 3 random directions, plus every coordinate when it has at most
// 48 elements. h = 1e-2: central differences are exact for the (bi)linear ops and O(h²) ≈ 1e-4
// for smooth ones, while float32 rounding of L contributes ~ 1e-6·|L| / h ≈ 1e-4 absolute (a
// smaller h lets rounding dominate). Inputs of kinked ops are drawn at least 0.05 from their kinks.
// The bound is |fd - analytic| <= 1e-2 · max(|fd|, |analytic|) + 1e-3.
// A fresh seed is drawn each run and printed in every failure message.
import { randomInt } from 'node:crypto';
import { gradients } from '../../../../training/autodiff/grad.js';
import { newGraph } from '../../../../training/autodiff/registry.js';
import type { Graph } from '../../../../training/onnx/graph.js';
import { createSession, makeTensor, type Tensor } from '../../../../training/onnx/runtime.js';
import { serialize } from '../../../../training/onnx/serialize.js';
import type { DType, TensorData, Value } from '../../../../training/onnx/types.js';
import { Rng } from '../../../../training/nn/rng.js';

export const REL_TOL = 1e-2;
export const ABS_TOL = 1e-3;
const H = 1e-2;

export interface InputSpec {
  shape: number[];
  dtype?: DType;
  /** Custom data (e.g. values kept away from kinks, or integer labels). */
  gen?: (rng: Rng, n: number) => TensorData;
  /** Checked against finite differences (default: true for float32). */
  check?: boolean;
}

export interface GradCheckResult {
  seed: number;
  failures: string[];
  checks: number;
}

export interface TapLike {
  ok(v: unknown, msg: string): unknown;
}

/** Values ±(lo + i·step) in random order and sign: at least lo from 0 and `step` apart, so the
 *  ±h·v perturbations (|h·v| <= 1e-2) never cross a kink (ReLU at 0) or reorder a max. */
export function awayFromZero(lo = 0.1, step = 0.05) {
  return (rng: Rng, n: number): Float32Array => {
    const vals = Array.from({ length: n }, (_, i) => lo + step * i);
    for (let i = n - 1; i > 0; i--) { const j = Math.floor(rng.uniform() * (i + 1)); [vals[i], vals[j]] = [vals[j], vals[i]]; }
    return Float32Array.from(vals, (v) => (rng.uniform() < 0.5 ? -v : v));
  };
}

export async function checkGrad(
  specs: Record<string, InputSpec>,
  build: (g: Graph, inputs: Record<string, Value>) => Value,
  o: { seed?: number; threads?: number; freshSessions?: boolean; h?: number } = {},
): Promise<GradCheckResult> {
  const seed = o.seed ?? randomInt(2 ** 31);
  const rng = new Rng(seed);
  const g = newGraph('gradcheck');
  const inputs: Record<string, Value> = {};
  const data: Record<string, TensorData> = {};
  for (const [name, s] of Object.entries(specs)) {
    const dtype = s.dtype ?? 'float32';
    inputs[name] = g.input(name, dtype, s.shape);
    const n = s.shape.reduce((a, b) => a * b, 1);
    data[name] = s.gen ? s.gen(rng, n) : rng.fill(n, (r) => r.uniform() * 2 - 1);
  }
  const y = build(g, inputs);
  const yn = y.shape.reduce<number>((a, b) => a * (b as number), 1);
  const proj = g.input('proj', 'float32', y.shape);
  data.proj = rng.fill(yn, (r) => r.uniform() * 2 - 1);
  const loss = g.op1('ReduceSum', [g.op1('Mul', [y, proj])], { keepdims: 0 });
  g.output(loss, 'L');
  const checked = Object.keys(specs).filter((k) => (specs[k].check ?? (specs[k].dtype ?? 'float32') === 'float32'));
  const grads = gradients(g, loss, checked.map((k) => inputs[k]));
  for (const k of checked) g.output(grads.get(k)!);
  const bytes = serialize(g);
  let session = await createSession(bytes, { threads: o.threads ?? 1 });
  // Ops with internal random state (Dropout with a seed attribute) repeat their draw only in a
  // fresh session: evaluate every point in its own session then.
  const sessionFor = async () => {
    if (!o.freshSessions) return session;
    await session.release();
    session = await createSession(bytes, { threads: o.threads ?? 1 });
    return session;
  };

  const feeds = (over: Record<string, TensorData> = {}): Record<string, Tensor> => {
    const f: Record<string, Tensor> = {};
    for (const [name, v] of Object.entries({ ...inputs, proj })) f[name] = makeTensor(v.dtype, over[name] ?? data[name], v.shape as number[]);
    return f;
  };
  const lossAt = async (over: Record<string, TensorData>) => (await (await sessionFor()).run(feeds(over), ['L'])).L.data[0] as number;

  const base = await (await sessionFor()).run(feeds());
  const failures: string[] = [];
  let checks = 0;
  for (const k of checked) {
    const x = data[k] as Float32Array;
    const an = base[`${k}_grad`].data as Float32Array;
    const dirs: Float32Array[] = [];
    for (let d = 0; d < 3; d++) dirs.push(rng.fill(x.length, (r) => r.uniform() * 2 - 1));
    if (x.length <= 48) for (let i = 0; i < x.length; i++) { const e = new Float32Array(x.length); e[i] = 1; dirs.push(e); }
    for (const [di, v] of dirs.entries()) {
      const h = o.h ?? H;
      const plus = x.map((xi, i) => xi + h * v[i]);
      const minus = x.map((xi, i) => xi - h * v[i]);
      const fd = ((await lossAt({ [k]: plus })) - (await lossAt({ [k]: minus }))) / (2 * h);
      let dot = 0;
      for (let i = 0; i < x.length; i++) dot += an[i] * v[i];
      checks++;
      const err = Math.abs(fd - dot);
      if (!(err <= REL_TOL * Math.max(Math.abs(fd), Math.abs(dot)) + ABS_TOL)) {
        failures.push(`d${k} direction ${di}: finite difference ${fd.toPrecision(6)} vs analytic ${dot.toPrecision(6)} (seed ${seed})`);
      }
    }
  }
  await session.release();
  return { seed, failures, checks };
}

/** Runs checkGrad and reports through tap, naming the seed on failure. */
export async function assertGrad(
  t: TapLike,
  specs: Record<string, InputSpec>,
  build: (g: Graph, inputs: Record<string, Value>) => Value,
  o: { freshSessions?: boolean; h?: number } = {},
): Promise<void> {
  const r = await checkGrad(specs, build, o);
  t.ok(r.failures.length === 0 && r.checks > 0,
    r.failures.length ? r.failures.slice(0, 5).join('\n') : `${r.checks} directional checks within rel ${REL_TOL} (seed ${r.seed})`);
}
