// Gradient checks for Conv: groups (incl. depthwise), dilations 1-5, strides 1-2, explicit and
// asymmetric pads, with/without bias. stride>1 with dilation>1 exercises the ConvTranspose path.
import t from 'tap';
import { assertGrad } from './helpers/check-grad.js';

interface Case { x: number[]; w: number[]; g?: number; d?: number; s?: number; p?: number[]; bias?: boolean }
const cases: Case[] = [
  { x: [2, 3, 7, 7], w: [4, 3, 3, 3], p: [1, 1, 1, 1], bias: true },
  { x: [2, 6, 9, 9], w: [6, 1, 3, 3], g: 6, d: 2, p: [2, 2, 2, 2] },
  { x: [2, 4, 11, 11], w: [4, 1, 3, 3], g: 4, d: 5, p: [5, 5, 5, 5] },
  { x: [1, 4, 10, 10], w: [4, 1, 3, 3], g: 4, d: 3, p: [3, 3, 3, 3], bias: true },
  { x: [2, 4, 9, 8], w: [6, 2, 3, 3], g: 2, d: 1, p: [1, 0, 1, 2] },
  { x: [2, 3, 6, 6], w: [5, 3, 1, 1] },
  { x: [2, 3, 6, 6], w: [5, 3, 1, 1], bias: true, s: 2 },
  { x: [2, 3, 9, 9], w: [4, 3, 3, 3], s: 2, p: [1, 1, 1, 1] },
  { x: [2, 4, 10, 10], w: [4, 1, 3, 3], g: 4, s: 2, p: [1, 1, 1, 1] },
  { x: [2, 4, 12, 11], w: [4, 1, 3, 3], g: 4, s: 2, d: 2, p: [2, 2, 2, 2] },
  { x: [2, 3, 13, 13], w: [4, 3, 3, 3], s: 2, d: 3, p: [1, 2, 0, 3] },
  { x: [2, 2, 8, 8], w: [4, 1, 3, 3], g: 2, d: 2, p: [0, 0, 0, 0] },
  { x: [2, 3, 8, 8], w: [6, 1, 5, 5], g: 3, d: 2, s: 2, p: [4, 4, 4, 4] },
];

for (const c of cases) {
  const name = `Conv dX,dW${c.bias ? ',dB' : ''} x=[${c.x}] w=[${c.w}] g=${c.g ?? 1} d=${c.d ?? 1} s=${c.s ?? 1} p=[${c.p ?? [0, 0, 0, 0]}]`;
  t.test(name, (t) => assertGrad(t,
    { x: { shape: c.x }, w: { shape: c.w }, ...(c.bias ? { b: { shape: [c.w[0]] } } : {}) },
    (g, i) => g.op1('Conv', [i.x, i.w, ...(i.b ? [i.b] : [])], {
      group: c.g ?? 1, dilations: [c.d ?? 1, c.d ?? 1], strides: [c.s ?? 1, c.s ?? 1], pads: c.p ?? [0, 0, 0, 0],
    })));
}
