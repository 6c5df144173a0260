// Gradient checks for MaxPool (2×2/s2 via MaxUnpool, 3×3/s2 overlapping via ScatterElements),
// AveragePool and GlobalAveragePool. MaxPool inputs have distinct values so no window has a tie.
import t from 'tap';
import { assertGrad, awayFromZero } from './helpers/check-grad.js';

const distinct = { gen: awayFromZero(0.05, 0.05) };

t.test('MaxPool 2x2/s2 x=[2,3,6,6]', (t) => assertGrad(t, { x: { shape: [2, 3, 6, 6], ...distinct } },
  (g, i) => g.op('MaxPool', [i.x], { kernel_shape: [2, 2], strides: [2, 2] }, 2)[0]));
t.test('MaxPool 2x2/s2 odd x=[2,2,7,5]', (t) => assertGrad(t, { x: { shape: [2, 2, 7, 5], ...distinct } },
  (g, i) => g.op('MaxPool', [i.x], { kernel_shape: [2, 2], strides: [2, 2] }, 2)[0]));
t.test('MaxPool 2x2/s2 no Indices (tile mask) x=[2,3,6,6]', (t) => assertGrad(t, { x: { shape: [2, 3, 6, 6], ...distinct } },
  (g, i) => g.op1('MaxPool', [i.x], { kernel_shape: [2, 2], strides: [2, 2] })));
t.test('MaxPool 2x2/s2 no Indices odd x=[2,2,7,5]', (t) => assertGrad(t, { x: { shape: [2, 2, 7, 5], ...distinct } },
  (g, i) => g.op1('MaxPool', [i.x], { kernel_shape: [2, 2], strides: [2, 2] })));
t.test('MaxPool 3x3/s2 pad 1 x=[2,3,7,7] (overlapping)', (t) => assertGrad(t, { x: { shape: [2, 3, 7, 7], ...distinct } },
  (g, i) => g.op('MaxPool', [i.x], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, 2)[0]));
t.test('AveragePool 2x2/s2 x=[2,3,6,6]', (t) => assertGrad(t, { x: { shape: [2, 3, 6, 6] } },
  (g, i) => g.op1('AveragePool', [i.x], { kernel_shape: [2, 2], strides: [2, 2] })));
t.test('AveragePool 3x3/s2 pad 1 count_include_pad x=[2,2,7,7]', (t) => assertGrad(t, { x: { shape: [2, 2, 7, 7] } },
  (g, i) => g.op1('AveragePool', [i.x], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 })));
t.test('GlobalAveragePool x=[2,4,5,3]', (t) => assertGrad(t, { x: { shape: [2, 4, 5, 3] } },
  (g, i) => g.op1('GlobalAveragePool', [i.x])));
