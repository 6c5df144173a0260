// The one helper that reduces a broadcast gradient back to its operand's shape (sum over the
// axes that broadcasting added or stretched).
import type { Graph } from '../onnx/graph.js';
import type { Shape, Value } from '../onnx/types.js';

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Sums `grad` over the axes where the operand was broadcast. The result may still be smaller
 *  than the operand along axes where grad itself has size 1: the backward pass accepts such
 *  broadcastable gradients and only expands them when a consumer needs the full shape. */
export function reduceToShape(g: Graph, grad: Value, target: Shape): Value {
  if (sameShape(grad.shape, target)) return grad;
  const lead = grad.shape.length - target.length;
  if (lead < 0) {
    // A smaller gradient (already broadcastable): align ranks only.
    const aligned = [...new Array<number>(-lead).fill(1), ...grad.shape];
    if (!aligned.every((d, i) => d === 1 || d === target[i])) throw new Error(`cannot reduce ${grad.name} to ${target.join('x')}`);
    return g.op1('Reshape', [grad, g.ints(aligned as number[])]);
  }
  const axes: number[] = [];
  grad.shape.forEach((d, i) => {
    if (i < lead || (target[i - lead] === 1 && d !== 1)) axes.push(i);
  });
  let r = axes.length ? g.op1('ReduceSum', [grad, g.ints(axes)], { keepdims: 1 }) : grad;
  if (lead > 0) r = g.op1('Reshape', [r, g.ints(r.shape.slice(lead) as number[])]);
  if (!r.shape.every((d, i) => d === 1 || d === target[i])) throw new Error(`cannot reduce ${grad.name} to ${target.join('x')}`);
  return r;
}
