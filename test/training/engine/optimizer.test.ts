// The optimiser graphs against a few lines of plain TypeScript (float64) for 1 and N steps, with
// fresh random params/gradients each run. Bound per element: |got - ref| <= 1e-5 · max(|ref|, 0.1)
// (float32 rounding of p is ~1e-7 per step; the floor keeps params near 0 from inflating the ratio).
import t from 'tap';
import { randomInt } from 'node:crypto';
import { newGraph } from '../../../training/autodiff/registry.js';
import { Rng } from '../../../training/nn/rng.js';
import { createSession, f32, type Tensor } from '../../../training/onnx/runtime.js';
import { serialize } from '../../../training/onnx/serialize.js';
import { buildOptimizer, type OptimizerConfig } from '../../../training/optim/optimizer.js';

interface RefParam { p: Float64Array; m: Float64Array; v: Float64Array; decay: boolean }

/** PyTorch-semantics reference step over all params (grads already given). */
function refStep(c: OptimizerConfig, ps: RefParam[], gs: Float64Array[], lr: number, t: number): void {
  let norm = 0;
  for (const g of gs) for (const x of g) norm += x * x;
  norm = Math.sqrt(norm);
  const clip = c.clipGlobalNorm !== undefined ? Math.min(1, c.clipGlobalNorm / (norm + 1e-6)) : 1;
  ps.forEach((P, k) => {
    for (let i = 0; i < P.p.length; i++) {
      let g = gs[k][i] * clip;
      if (c.kind === 'adamw') {
        const [b1, b2, eps] = [c.beta1 ?? 0.9, c.beta2 ?? 0.999, c.eps ?? 1e-8];
        if (P.decay) P.p[i] *= 1 - lr * c.weightDecay;
        P.m[i] = b1 * P.m[i] + (1 - b1) * g;
        P.v[i] = b2 * P.v[i] + (1 - b2) * g * g;
        const mh = P.m[i] / (1 - b1 ** t);
        const vh = P.v[i] / (1 - b2 ** t);
        P.p[i] -= (lr * mh) / (Math.sqrt(vh) + eps);
      } else {
        const mu = c.momentum ?? 0.9;
        if (P.decay) g += c.weightDecay * P.p[i];
        P.m[i] = mu * P.m[i] + g;
        P.p[i] -= lr * (c.nesterov ? g + mu * P.m[i] : P.m[i]);
      }
    }
  });
}

async function compare(t: { ok(v: unknown, m: string): unknown }, c: OptimizerConfig, steps: number) {
  const seed = randomInt(2 ** 31);
  const rng = new Rng(seed);
  const shapes = [[3, 4], [5]];
  const g = newGraph('opt');
  const lr = g.input('lr', 'float32', []);
  const step = g.input('step', 'float32', []);
  const params = shapes.map((s, k) => ({ name: `p${k}`, value: g.input(`p${k}`, 'float32', s), grad: g.input(`g${k}`, 'float32', s), decay: k === 0 }));
  const opt = buildOptimizer(g, c, params, lr, step);
  for (const [name, v] of opt.next) g.output(v, `${name}.next`);
  const session = await createSession(serialize(g));
  const n = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const state: Record<string, Tensor> = {};
  const ref: RefParam[] = shapes.map((s, k) => {
    const p = rng.fill(n(s), (r) => r.normal());
    state[`p${k}`] = f32(p, s);
    for (const name of opt.state.keys()) if (name.startsWith(`p${k}.`)) state[name] = f32(new Float32Array(n(s)), s);
    return { p: Float64Array.from(p), m: new Float64Array(n(s)), v: new Float64Array(n(s)), decay: k === 0 };
  });
  for (let s = 1; s <= steps; s++) {
    const lrv = 0.01 * (1 + rng.uniform());
    const grads = shapes.map((sh) => rng.fill(n(sh), (r) => r.normal()));
    const feeds: Record<string, Tensor> = { ...state, lr: f32(new Float32Array([lrv]), []), step: f32(new Float32Array([s]), []) };
    grads.forEach((gr, k) => { feeds[`g${k}`] = f32(gr, shapes[k]); });
    const out = await session.run(feeds);
    for (const name of opt.next.keys()) state[name] = out[`${name}.next`];
    refStep(c, ref, grads.map((gr) => Float64Array.from(gr)), Math.fround(lrv), s);
  }
  let worst = 0;
  ref.forEach((P, k) => {
    const got = state[`p${k}`].data as Float32Array;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - P.p[i]) / Math.max(Math.abs(P.p[i]), 0.1));
  });
  t.ok(worst < 1e-5, `max relative error ${worst.toExponential(2)} < 1e-5 after ${steps} step(s) (seed ${seed})`);
  await session.release();
}

const configs: [string, OptimizerConfig][] = [
  ['adamw wd=0.05', { kind: 'adamw', weightDecay: 0.05 }],
  ['adamw betas (0.8,0.99) eps=1e-6 clip=0.5', { kind: 'adamw', weightDecay: 0.01, beta1: 0.8, beta2: 0.99, eps: 1e-6, clipGlobalNorm: 0.5 }],
  ['sgd momentum 0.9 wd=1e-3', { kind: 'sgd', weightDecay: 1e-3, momentum: 0.9 }],
  ['sgd nesterov clip=1', { kind: 'sgd', weightDecay: 1e-3, momentum: 0.8, nesterov: true, clipGlobalNorm: 1 }],
];
for (const [name, c] of configs) {
  t.test(`${name}: 1 step matches the TS reference`, (t) => compare(t, c, 1));
  t.test(`${name}: 20 steps match the TS reference`, (t) => compare(t, c, 20));
}

t.test('bad optimizer settings are rejected', async (t) => {
  const g = newGraph();
  const lr = g.input('lr', 'float32', []);
  t.throws(() => buildOptimizer(g, { kind: 'adamw', weightDecay: -1 }, [], lr, lr), /weightDecay/);
  t.throws(() => buildOptimizer(g, { kind: 'sgd', weightDecay: 0, momentum: 1.5 }, [], lr, lr), /momentum/);
});
