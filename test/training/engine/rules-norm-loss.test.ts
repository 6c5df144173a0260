// Gradient checks for batch norm (the BatchNormalization affine rule alone, and the full
// training-mode composite with batch statistics), Dropout's mask rule, softmax family and the
// softmax cross-entropy loss (with and without label smoothing).
import t from 'tap';
import { assertGrad } from './helpers/check-grad.js';
import { countCorrect, oneHotTargets, softmaxCrossEntropy } from '../../../training/autodiff/ops/loss.js';
import { batchNorm } from '../../../training/nn/layers.js';
import type { NetContext } from '../../../training/nn/layers.js';
import type { Graph } from '../../../training/onnx/graph.js';
import type { Value } from '../../../training/onnx/types.js';
import { float } from '../../../training/onnx/types.js';
import type { Rng } from '../../../training/nn/rng.js';

const s = (...shape: number[]) => ({ shape });
const positive = (rng: Rng, n: number) => Float32Array.from({ length: n }, () => 0.5 + rng.uniform());
const labels = (k: number) => ({ dtype: 'int32' as const, gen: (rng: Rng, n: number) => Int32Array.from({ length: n }, () => Math.floor(rng.uniform() * k)) });

/** A train-mode NetContext whose params are the test's inputs. */
function trainCtx(g: Graph, inputs: Record<string, Value>): NetContext {
  return {
    g, mode: 'train', bnMomentum: 0.1, bnEps: 1e-5, foldBatchNorm: false,
    param: (p) => inputs[p.name.split('.').pop()!],
    buffer: (name, shape, init) => g.constant(new Float32Array(shape[0]).fill(init), shape),
    updateBuffer: () => undefined,
    data: () => { throw new Error('no data'); },
    dropoutMask: () => { throw new Error('no dropout'); },
  };
}

t.test('BatchNormalization affine dX,dScale,dB,dMean,dVar x=[3,4,3,2]', (t) => assertGrad(t,
  { x: s(3, 4, 3, 2), sc: s(4), b: s(4), m: s(4), v: { shape: [4], gen: positive } },
  (g, i) => g.op1('BatchNormalization', [i.x, i.sc, i.b, i.m, i.v], { epsilon: float(1e-5) })));
t.test('batch norm train mode (batch stats) x=[4,3,3,3]', (t) => assertGrad(t,
  { x: s(4, 3, 3, 3), weight: s(3), bias: s(3) },
  (g, i) => batchNorm(trainCtx(g, i), i.x, 'bn')));
t.test('Dropout training_mode ratio=0.3 (seeded mask) x=[4,8]', (t) => assertGrad(t, { x: s(4, 8) },
  (g, i) => g.op('Dropout', [i.x, g.scalar(0.3), g.constant(new Uint8Array([1]), [])], { seed: 7 }, 2)[0], { freshSessions: true }));
t.test('LogSoftmax axis=1 x=[3,5]', (t) => assertGrad(t, { x: s(3, 5) }, (g, i) => g.op1('LogSoftmax', [i.x], { axis: 1 })));
t.test('Softmax axis=-1 x=[2,3,4]', (t) => assertGrad(t, { x: s(2, 3, 4) }, (g, i) => g.op1('Softmax', [i.x], { axis: -1 })));
t.test('softmax cross-entropy logits=[6,10]', (t) => assertGrad(t, { z: s(6, 10), y: { shape: [6], ...labels(10) } },
  (g, i) => softmaxCrossEntropy(g, i.z, oneHotTargets(g, i.y, 10))));
t.test('softmax cross-entropy label smoothing 0.1 logits=[5,4]', (t) => assertGrad(t, { z: s(5, 4), y: { shape: [5], ...labels(4) } },
  (g, i) => softmaxCrossEntropy(g, i.z, oneHotTargets(g, i.y, 4, 0.1))));

t.test('countCorrect has a zero gradient on purpose and builds', async (t) => {
  const { newGraph } = await import('../../../training/autodiff/registry.js');
  const g = newGraph();
  const z = g.input('z', 'float32', [4, 3]);
  const y = g.input('y', 'int32', [4]);
  const c = countCorrect(g, z, y);
  t.same(c.shape, []);
});
