// Gradient checks for MatMul (incl. batch broadcasting) and Gemm (all transpose flags, bias).
import t from 'tap';
import { assertGrad } from './helpers/check-grad.js';
import { float } from '../../../training/onnx/types.js';

const s = (...shape: number[]) => ({ shape });

t.test('MatMul a=[3,4] b=[4,5]', (t) => assertGrad(t, { a: s(3, 4), b: s(4, 5) }, (g, i) => g.op1('MatMul', [i.a, i.b])));
t.test('MatMul batched a=[2,3,4] b=[4,5] (b broadcast)', (t) => assertGrad(t, { a: s(2, 3, 4), b: s(4, 5) }, (g, i) => g.op1('MatMul', [i.a, i.b])));
t.test('MatMul batched a=[2,1,3,4] b=[3,4,2]', (t) => assertGrad(t, { a: s(2, 1, 3, 4), b: s(3, 4, 2) }, (g, i) => g.op1('MatMul', [i.a, i.b])));
for (const [ta, tb] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
  t.test(`Gemm transA=${ta} transB=${tb} alpha=0.7 beta=1.3 c=[5]`, (t) => assertGrad(t,
    { a: ta ? s(4, 3) : s(3, 4), b: tb ? s(5, 4) : s(4, 5), c: s(5) },
    (g, i) => g.op1('Gemm', [i.a, i.b, i.c], { transA: ta, transB: tb, alpha: float(0.7), beta: float(1.3) })));
}
