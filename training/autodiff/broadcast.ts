// The one helper that reduces a broadcast gradient back to its operand's shape (sum over the
// axes that broadcasting added or stretched).
import type { Graph } from '../onnx/graph.js';
import type { Shape, Value } from '../onnx/types.js';

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function reduceToShape(g: Graph, grad: Value, target: Shape): Value {
  if (sameShape(grad.shape, target)) return grad;
  const lead = grad.shape.length - target.length;
  if (lead < 0) throw new Error(`cannot reduce ${grad.name} to a higher rank`);
  const axes: number[] = [];
  grad.shape.forEach((d, i) => {
    if (i < lead || (target[i - lead] === 1 && d !== 1)) axes.push(i);
  });
  let r = axes.length ? g.op1('ReduceSum', [grad, g.ints(axes)], { keepdims: 1 }) : grad;
  if (lead > 0 || !sameShape(r.shape, target)) {
    r = g.op1('Reshape', [r, g.ints(target.map((d) => (typeof d === 'number' ? d : 0)))]);
  }
  return r;
}
