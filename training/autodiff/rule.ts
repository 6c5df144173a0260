// The vocabulary rules are written in: an op definition pairs its forward type inference with its
// vector-Jacobian product. `grad` is a function, 'zero' (piecewise-constant or integer outputs:
// the gradient is zero on purpose) or absent (not implemented: asking for it throws).
import type { Graph, InferFn } from '../onnx/graph.js';
import type { Attrs, Node, Value } from '../onnx/types.js';

export interface GradContext {
  readonly g: Graph;
  readonly node: Node;
  readonly attrs: Attrs;
  input(i: number): Value;
  output(i: number): Value;
  /** Gradient flowing into output i, or undefined when that output does not reach the loss. */
  gradOut(i: number): Value | undefined;
  /** Whether input i needs a gradient (rules emit nothing for inputs that do not). */
  needs(i: number): boolean;
}

/** Per-input gradients, aligned with node inputs; undefined = none. */
export type GradFn = (c: GradContext) => (Value | undefined)[];

export interface OpDef {
  readonly op: string;
  readonly infer: InferFn;
  readonly grad?: GradFn | 'zero';
  /** The rule works with a gradOut that merely broadcasts to the output's shape (elementwise
   *  arithmetic); other rules receive it expanded to the full shape. */
  readonly broadcastGrad?: boolean;
}
