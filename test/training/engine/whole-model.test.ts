// Whole-model gradient check of a tiny separable-dilated net in train mode (batch-stat BN, SiLU,
// dilations 2 and 3, a dw-norm block, a stride-2 separable block, GAP, linear, cross-entropy):
// every parameter's gradient and the input's against central differences, bound as in the helper.
// NOTE: no max pool here — a whole net has thousands of pool tiles, and a ±h perturbation that
// reorders one tile's max makes the loss non-differentiable along that direction (finite
// differences then disagree with any correct gradient). MaxPool's rule is checked on its own with
// tie-free inputs in rules-pool.test.ts, and the default-arch train graph runs in trainer tests.
import t from 'tap';
import { assertGrad, type InputSpec } from './helpers/check-grad.js';
import { oneHotTargets, softmaxCrossEntropy } from '../../../training/autodiff/ops/loss.js';
import { newGraph } from '../../../training/autodiff/registry.js';
import type { ArchConfig } from '../../../training/nn/arch.js';
import type { NetContext, ParamSpec } from '../../../training/nn/layers.js';
import { buildNetwork } from '../../../training/nn/network.js';
import type { Graph } from '../../../training/onnx/graph.js';
import type { Value } from '../../../training/onnx/types.js';
import type { Rng } from '../../../training/nn/rng.js';

const tiny: ArchConfig = {
  name: 'tiny-sepdil', inputShape: [1, 28, 28], stem: { out: 4, k: 3 }, activation: 'silu', classes: 10, headDropout: 0,
  blocks: [
    { kind: 'separable', out: 6, k: 3, dilation: 2 },
    { kind: 'separable', out: 6, k: 3, dilation: 3, dwNorm: true },
    { kind: 'separable', out: 8, k: 3, dilation: 1, stride: 2 },
  ],
};

function ctxFor(g: Graph, feed: (spec: ParamSpec) => Value): NetContext {
  return {
    g, mode: 'train', bnMomentum: 0.1, bnEps: 1e-5, foldBatchNorm: false,
    param: feed,
    buffer: (_n, shape, init) => g.constant(new Float32Array(shape[0]).fill(init), shape),
    updateBuffer: () => undefined,
    data: () => { throw new Error('unused'); },
    dropoutMask: () => { throw new Error('unused'); },
  };
}

t.test('whole tiny separable-dilated net: d(loss)/d(every param) and d/d(input)', async (t) => {
  const scratch = newGraph();
  const params: ParamSpec[] = [];
  buildNetwork(ctxFor(scratch, (s) => { params.push(s); return scratch.input(s.name, 'float32', s.shape); }), tiny, scratch.input('x', 'float32', [2, 1, 28, 28]));
  const specs: Record<string, InputSpec> = {
    x: { shape: [2, 1, 28, 28] },
    y: { shape: [2], dtype: 'int32', gen: (rng: Rng, n: number) => Int32Array.from({ length: n }, () => Math.floor(rng.uniform() * 10)) },
  };
  for (const p of params) specs[p.name] = { shape: p.shape };
  t.ok(params.length >= 12, `${params.length} parameter tensors`);
  await assertGrad(t, specs, (g, i) => {
    const logits = buildNetwork(ctxFor(g, (s) => i[s.name]), tiny, i.x);
    return softmaxCrossEntropy(g, logits, oneHotTargets(g, i.y, 10));
  });
});
