// Gradient checks for reductions and shape ops.
import t from 'tap';
import { assertGrad } from './helpers/check-grad.js';

const s = (...shape: number[]) => ({ shape });

t.test('ReduceSum axes=[0,2] keepdims=1 x=[3,4,5]', (t) => assertGrad(t, { x: s(3, 4, 5) }, (g, i) => g.op1('ReduceSum', [i.x, g.ints([0, 2])], { keepdims: 1 })));
t.test('ReduceSum axes=[1] keepdims=0 x=[3,4,5]', (t) => assertGrad(t, { x: s(3, 4, 5) }, (g, i) => g.op1('ReduceSum', [i.x, g.ints([1])], { keepdims: 0 })));
t.test('ReduceMean axes=[0,2,3] x=[2,3,4,4]', (t) => assertGrad(t, { x: s(2, 3, 4, 4) }, (g, i) => g.op1('ReduceMean', [i.x, g.ints([0, 2, 3])], { keepdims: 1 })));
t.test('ReduceMean all keepdims=0 x=[3,5]', (t) => assertGrad(t, { x: s(3, 5) }, (g, i) => g.op1('ReduceMean', [i.x], { keepdims: 0 })));
t.test('ReduceSumSquare axes=[-1] x=[3,5]', (t) => assertGrad(t, { x: s(3, 5) }, (g, i) => g.op1('ReduceSumSquare', [i.x, g.ints([-1])], { keepdims: 0 })));
t.test('Reshape [2,3,4]->[4,-1]', (t) => assertGrad(t, { x: s(2, 3, 4) }, (g, i) => g.op1('Reshape', [i.x, g.ints([4, -1])])));
t.test('Flatten axis=1 x=[2,3,2,2]', (t) => assertGrad(t, { x: s(2, 3, 2, 2) }, (g, i) => g.op1('Flatten', [i.x], { axis: 1 })));
t.test('Transpose perm=[2,0,1] x=[2,3,4]', (t) => assertGrad(t, { x: s(2, 3, 4) }, (g, i) => g.op1('Transpose', [i.x], { perm: [2, 0, 1] })));
t.test('Concat axis=1 a=[2,3] b=[2,1] c=[2,4]', (t) => assertGrad(t, { a: s(2, 3), b: s(2, 1), c: s(2, 4) }, (g, i) => g.op1('Concat', [i.a, i.b, i.c], { axis: 1 })));
t.test('Unsqueeze+Squeeze x=[3,4]', (t) => assertGrad(t, { x: s(3, 4) }, (g, i) => g.op1('Mul', [g.op1('Unsqueeze', [i.x, g.ints([0, 2])]), g.op1('Unsqueeze', [g.op1('Squeeze', [g.op1('Unsqueeze', [i.x, g.ints([1])]), g.ints([1])]), g.ints([0, 2])])])));
t.test('Slice [1:3, 0:4:1] x=[4,5]', (t) => assertGrad(t, { x: s(4, 5) }, (g, i) => g.op1('Slice', [i.x, g.ints([1, 0]), g.ints([3, 4]), g.ints([0, 1])])));
t.test('Pad [1,0,2,1] x=[3,3]', (t) => assertGrad(t, { x: s(3, 3) }, (g, i) => g.op1('Pad', [i.x, g.ints([1, 0, 2, 1])])));
t.test('Expand [3,1]->[2,3,4]', (t) => assertGrad(t, { x: s(3, 1) }, (g, i) => g.op1('Expand', [i.x, g.ints([2, 3, 4])])));
