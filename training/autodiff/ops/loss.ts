// Softmax family and the softmax cross-entropy loss.
// NOTE: onnxruntime's CPU build has no SoftmaxCrossEntropyLoss kernel, so the loss is composed
// from LogSoftmax (numerically stable) and a target-weighted sum; its gradient follows from the
// primitives' rules and equals (softmax - target) / B.
import type { Graph, InferContext, OutType } from '../../onnx/graph.js';
import type { Value } from '../../onnx/types.js';
import { attrInt } from '../../onnx/types.js';
import type { GradContext, OpDef } from '../rule.js';
import { expectDType, normAxis, req } from './infer-util.js';

const softmaxInfer = (c: InferContext): OutType[] => {
  const x = req(c, 0);
  expectDType(x, 'float32');
  normAxis(attrInt(c.attrs, 'axis', -1), x.shape.length);
  return [{ dtype: x.dtype, shape: x.shape }];
};

const sumKeep = (c: GradContext, v: Value) =>
  c.g.op1('ReduceSum', [v, c.g.ints([attrInt(c.attrs, 'axis', -1)])], { keepdims: 1 });

export const lossOps: OpDef[] = [
  {
    op: 'LogSoftmax', infer: softmaxInfer, // dx = dy - softmax(x) * sum(dy)
    grad: (c) => {
      const dy = c.gradOut(0);
      if (!dy || !c.needs(0)) return [undefined];
      return [c.g.op1('Sub', [dy, c.g.op1('Mul', [c.g.op1('Exp', [c.output(0)]), sumKeep(c, dy)])])];
    },
  },
  {
    op: 'Softmax', infer: softmaxInfer, // dx = y * (dy - sum(dy * y))
    grad: (c) => {
      const dy = c.gradOut(0);
      if (!dy || !c.needs(0)) return [undefined];
      const y = c.output(0);
      return [c.g.op1('Mul', [y, c.g.op1('Sub', [dy, sumKeep(c, c.g.op1('Mul', [dy, y]))])])];
    },
  },
];

/** One-hot float targets [B, K] from int32 labels [B], with optional label smoothing. */
export function oneHotTargets(g: Graph, labels: Value, classes: number, smoothing = 0): Value {
  if (labels.dtype !== 'int32' || labels.shape.length !== 1) throw new Error('labels must be int32 [B]');
  const cols = g.constant(Int32Array.from({ length: classes }, (_, i) => i), [1, classes]);
  const lab = g.op1('Unsqueeze', [labels, g.ints([1])]);
  const hot = g.op1('Cast', [g.op1('Equal', [lab, cols])], { to: 1 });
  if (smoothing === 0) return hot;
  if (!(smoothing > 0 && smoothing < 1)) throw new Error(`label smoothing ${smoothing} must be in [0, 1)`);
  return g.op1('Add', [g.op1('Mul', [hot, g.scalar(1 - smoothing)]), g.scalar(smoothing / classes)]);
}

/** Mean over the batch of -Σ_k target_k · log softmax(logits)_k. Returns a scalar. */
export function softmaxCrossEntropy(g: Graph, logits: Value, targets: Value): Value {
  const logp = g.op1('LogSoftmax', [logits], { axis: 1 });
  const perSample = g.op1('ReduceSum', [g.op1('Mul', [logp, targets]), g.ints([1])], { keepdims: 0 });
  return g.op1('Neg', [g.op1('ReduceMean', [perSample, g.ints([0])], { keepdims: 0 })]);
}

/** Number of samples whose argmax equals the label (float32 scalar). */
export function countCorrect(g: Graph, logits: Value, labels: Value): Value {
  const pred = g.op1('ArgMax', [logits], { axis: 1, keepdims: 0 });
  const hit = g.op1('Equal', [pred, g.op1('Cast', [labels], { to: 7 })]);
  return g.op1('ReduceSum', [g.op1('Cast', [hit], { to: 1 }), g.ints([0])], { keepdims: 0 });
}
