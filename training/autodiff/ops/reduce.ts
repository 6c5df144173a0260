// Reductions (opset 18: axes is an input). Gradients broadcast dY back over the reduced axes.
import type { Graph, InferContext, OutType } from '../../onnx/graph.js';
import type { Dim, Value } from '../../onnx/types.js';
import { attrInt, numel } from '../../onnx/types.js';
import type { GradContext, OpDef } from '../rule.js';
import { constInts, expectDType, normAxis, req } from './infer-util.js';

function reducedAxes(x: Value, axes: number[] | undefined): number[] {
  return axes && axes.length ? axes.map((a) => normAxis(a, x.shape.length)) : x.shape.map((_, i) => i);
}

function axesOf(c: { inputs: readonly (Value | null)[] }, g: Graph): number[] | undefined {
  const v = c.inputs[1];
  if (!v || !v.name) return undefined;
  const d = g.constantOf(v);
  if (!(d instanceof BigInt64Array)) throw new Error('reduction axes must be an int64 constant');
  return Array.from(d, Number);
}

const reduceInfer = (c: InferContext): OutType[] => {
  const x = req(c, 0);
  const axes = reducedAxes(x, c.inputs[1] ? constInts(c, 1) : undefined);
  const keep = attrInt(c.attrs, 'keepdims', 1) === 1;
  const shape: Dim[] = [];
  x.shape.forEach((d, i) => { if (!axes.includes(i)) shape.push(d); else if (keep) shape.push(1); });
  return [{ dtype: x.dtype, shape }];
};

/** dY in keepdims form: it broadcasts to the input's shape, and the backward pass expands it
 *  only if no full-sized gradient joins it (saves a full-size pass per mean/sum). */
function expandBack(c: GradContext, dy: Value): Value {
  const x = c.input(0);
  const axes = reducedAxes(x, axesOf(c.node, c.g));
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : (d as number)));
  return attrInt(c.attrs, 'keepdims', 1) === 1 ? dy : c.g.op1('Reshape', [dy, c.g.ints(kept)]);
}

function reducedCount(c: GradContext): number {
  const x = c.input(0);
  return numel(reducedAxes(x, axesOf(c.node, c.g)).map((a) => x.shape[a]));
}

export const reduceOps: OpDef[] = [
  {
    op: 'ReduceSum', infer: reduceInfer,
    grad: (c) => { const dy = c.gradOut(0); return [dy && c.needs(0) ? expandBack(c, dy) : undefined]; },
  },
  {
    op: 'ReduceMean', infer: reduceInfer,
    grad: (c) => {
      const dy = c.gradOut(0);
      if (!dy || !c.needs(0)) return [undefined];
      return [c.g.op1('Mul', [expandBack(c, dy), c.g.scalar(1 / reducedCount(c))])];
    },
  },
  {
    op: 'ReduceSumSquare', infer: reduceInfer, // d/dx sum x^2 = 2x
    grad: (c) => {
      const dy = c.gradOut(0);
      if (!dy || !c.needs(0)) return [undefined];
      return [c.g.op1('Mul', [c.input(0), c.g.op1('Mul', [expandBack(c, dy), c.g.scalar(2)])])];
    },
  },
  { op: 'ReduceMax', infer: reduceInfer },
  {
    op: 'ArgMax',
    infer: (c) => {
      const x = req(c, 0);
      expectDType(x, 'float32');
      const axis = normAxis(attrInt(c.attrs, 'axis', 0), x.shape.length);
      const keep = attrInt(c.attrs, 'keepdims', 1) === 1;
      const shape = x.shape.flatMap((d, i) => (i !== axis ? [d] : keep ? [1] : []));
      return [{ dtype: 'int64', shape }];
    },
    grad: 'zero',
  },
];
