// Gradient checks for elementwise rules (broadcasting included). Bound: see helpers/check-grad.ts.
import t from 'tap';
import { assertGrad, awayFromZero } from './helpers/check-grad.js';
import type { Rng } from '../../../training/nn/rng.js';

const s = (...shape: number[]) => ({ shape });
const positive = (rng: Rng, n: number) => Float32Array.from({ length: n }, () => 0.5 + rng.uniform());
const pos = (...shape: number[]) => ({ shape, gen: positive });

t.test('Add broadcast a=[2,3,4] b=[3,1]', (t) => assertGrad(t, { a: s(2, 3, 4), b: s(3, 1) }, (g, i) => g.op1('Add', [i.a, i.b])));
t.test('Sub broadcast a=[4] b=[2,3,4]', (t) => assertGrad(t, { a: s(4), b: s(2, 3, 4) }, (g, i) => g.op1('Sub', [i.a, i.b])));
t.test('Mul broadcast a=[2,3,1,5] b=[3,4,1]', (t) => assertGrad(t, { a: s(2, 3, 1, 5), b: s(3, 4, 1) }, (g, i) => g.op1('Mul', [i.a, i.b])));
t.test('Div broadcast a=[2,3,4] b=[1,4]', (t) => assertGrad(t, { a: s(2, 3, 4), b: pos(1, 4) }, (g, i) => g.op1('Div', [i.a, i.b])));
t.test('Sum of three a=[3,4] b=[4] c=[3,1]', (t) => assertGrad(t, { a: s(3, 4), b: s(4), c: s(3, 1) }, (g, i) => g.op1('Sum', [i.a, i.b, i.c])));
t.test('Neg x=[5,3]', (t) => assertGrad(t, { x: s(5, 3) }, (g, i) => g.op1('Neg', [i.x])));
t.test('Identity x=[5,3]', (t) => assertGrad(t, { x: s(5, 3) }, (g, i) => g.op1('Identity', [i.x])));
t.test('Relu x=[4,6] (off the kink)', (t) => assertGrad(t, { x: { shape: [4, 6], gen: awayFromZero() } }, (g, i) => g.op1('Relu', [i.x])));
t.test('Sigmoid x=[4,6]', (t) => assertGrad(t, { x: s(4, 6) }, (g, i) => g.op1('Sigmoid', [i.x])));
t.test('Tanh x=[4,6]', (t) => assertGrad(t, { x: s(4, 6) }, (g, i) => g.op1('Tanh', [i.x])));
t.test('Erf x=[4,6]', (t) => assertGrad(t, { x: s(4, 6) }, (g, i) => g.op1('Erf', [i.x])));
t.test('Exp x=[4,6]', (t) => assertGrad(t, { x: s(4, 6) }, (g, i) => g.op1('Exp', [i.x])));
t.test('Log x=[4,6] positive', (t) => assertGrad(t, { x: pos(4, 6) }, (g, i) => g.op1('Log', [i.x])));
t.test('Sqrt x=[4,6] positive', (t) => assertGrad(t, { x: pos(4, 6) }, (g, i) => g.op1('Sqrt', [i.x])));
t.test('Reciprocal x=[4,6] positive', (t) => assertGrad(t, { x: pos(4, 6) }, (g, i) => g.op1('Reciprocal', [i.x])));
t.test('Where a=[3,4] b=[4] cond from data', (t) => assertGrad(t, { a: s(3, 4), b: s(4), c: { shape: [3, 4], check: false } },
  (g, i) => g.op1('Where', [g.op1('Greater', [i.c, g.scalar(0)]), i.a, i.b])));
t.test('Cast float->float x=[3,3]', (t) => assertGrad(t, { x: s(3, 3) }, (g, i) => g.op1('Cast', [i.x], { to: 1 })));
t.test('silu composite x*sigmoid(x) x=[2,8]', (t) => assertGrad(t, { x: s(2, 8) }, (g, i) => g.op1('Mul', [i.x, g.op1('Sigmoid', [i.x])])));
