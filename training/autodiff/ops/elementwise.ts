// Elementwise ops with broadcasting, activations, comparisons and selection.
// NOTE: Relu's derivative at 0 is taken as 0 (mask y > 0), like PyTorch.
import type { InferContext, OutType } from '../../onnx/graph.js';
import { DTYPE_FROM_ELEM } from '../../onnx/serialize.js';
import type { Value } from '../../onnx/types.js';
import { reduceToShape } from '../broadcast.js';
import type { GradContext, OpDef } from '../rule.js';
import { broadcast, expectDType, req, same, sameDType } from './infer-util.js';

const arith = (c: InferContext): OutType[] => {
  const ins = c.inputs.map((_, i) => req(c, i));
  return [{ dtype: sameDType(ins), shape: broadcast(ins.map((v) => v.shape)) }];
};
const compare = (c: InferContext): OutType[] => {
  const [a, b] = [req(c, 0), req(c, 1)];
  sameDType([a, b]);
  return [{ dtype: 'bool', shape: broadcast([a.shape, b.shape]) }];
};
const floatUnary = (c: InferContext): OutType[] => {
  expectDType(req(c, 0), 'float32');
  return same(c);
};

/** Unary rule dX = dY ⊙ f(x, y). */
function unary(op: string, dfdx: (c: GradContext, dy: Value) => Value): OpDef {
  return {
    op, infer: floatUnary,
    grad: (c) => {
      const dy = c.gradOut(0);
      return [dy && c.needs(0) ? dfdx(c, dy) : undefined];
    },
  };
}

const mul = (c: GradContext, a: Value, b: Value): Value => c.g.op1('Mul', [a, b]);

export const elementwiseOps: OpDef[] = [
  {
    op: 'Add', infer: arith, broadcastGrad: true,
    grad: (c) => { const dy = c.gradOut(0); return [0, 1].map((i) => (dy && c.needs(i) ? reduceToShape(c.g, dy, c.input(i).shape) : undefined)); },
  },
  {
    op: 'Sub', infer: arith, broadcastGrad: true,
    grad: (c) => {
      const dy = c.gradOut(0);
      return [
        dy && c.needs(0) ? reduceToShape(c.g, dy, c.input(0).shape) : undefined,
        dy && c.needs(1) ? reduceToShape(c.g, c.g.op1('Neg', [dy]), c.input(1).shape) : undefined,
      ];
    },
  },
  {
    op: 'Mul', infer: arith, broadcastGrad: true,
    grad: (c) => {
      const dy = c.gradOut(0);
      if (dy && c.needs(0) && c.input(0) === c.input(1)) { // x·x: one term 2·x·dy (scale the smaller operand)
        const small = dy.shape.reduce<number>((a, d) => a * (d as number), 1) < c.input(0).shape.reduce<number>((a, d) => a * (d as number), 1);
        const two = small ? mul(c, c.input(0), mul(c, dy, c.g.scalar(2))) : mul(c, mul(c, c.input(0), c.g.scalar(2)), dy);
        return [reduceToShape(c.g, two, c.input(0).shape), undefined];
      }
      return [0, 1].map((i) => (dy && c.needs(i) ? reduceToShape(c.g, mul(c, dy, c.input(1 - i)), c.input(i).shape) : undefined));
    },
  },
  {
    op: 'Div', infer: arith, broadcastGrad: true, // y = a / b: da = dy / b, db = -dy * y / b
    grad: (c) => {
      const dy = c.gradOut(0);
      const b = c.input(1);
      return [
        dy && c.needs(0) ? reduceToShape(c.g, c.g.op1('Div', [dy, b]), c.input(0).shape) : undefined,
        dy && c.needs(1)
          ? reduceToShape(c.g, c.g.op1('Neg', [c.g.op1('Div', [mul(c, dy, c.output(0)), b])]), b.shape)
          : undefined,
      ];
    },
  },
  {
    op: 'Sum', infer: arith,
    grad: (c) => { const dy = c.gradOut(0); return c.node.inputs.map((v, i) => (dy && c.needs(i) ? reduceToShape(c.g, dy, v.shape) : undefined)); },
  },
  unary('Neg', (c, dy) => c.g.op1('Neg', [dy])),
  unary('Identity', (_c, dy) => dy),
  // Mask as float and multiply: measured faster than Where in onnxruntime 1.30 CPU.
  unary('Relu', (c, dy) => mul(c, dy, c.g.op1('Cast', [c.g.op1('Greater', [c.output(0), c.g.scalar(0)])], { to: 1 }))),
  unary('Sigmoid', (c, dy) => { // dy * y * (1 - y)
    const y = c.output(0);
    return mul(c, dy, mul(c, y, c.g.op1('Sub', [c.g.scalar(1), y])));
  }),
  unary('Tanh', (c, dy) => { const y = c.output(0); return mul(c, dy, c.g.op1('Sub', [c.g.scalar(1), mul(c, y, y)])); }),
  unary('Erf', (c, dy) => { // dy * 2/sqrt(pi) * exp(-x^2)
    const x = c.input(0);
    const e = c.g.op1('Exp', [c.g.op1('Neg', [mul(c, x, x)])]);
    return mul(c, dy, mul(c, e, c.g.scalar(2 / Math.sqrt(Math.PI))));
  }),
  unary('Exp', (c, dy) => mul(c, dy, c.output(0))),
  unary('Log', (c, dy) => c.g.op1('Div', [dy, c.input(0)])),
  unary('Sqrt', (c, dy) => c.g.op1('Div', [mul(c, dy, c.g.scalar(0.5)), c.output(0)])),
  unary('Reciprocal', (c, dy) => { const y = c.output(0); return c.g.op1('Neg', [mul(c, dy, mul(c, y, y))]); }),
  {
    op: 'Where', // y = cond ? a : b
    infer: (c) => {
      const [k, a, b] = [req(c, 0), req(c, 1), req(c, 2)];
      expectDType(k, 'bool');
      return [{ dtype: sameDType([a, b]), shape: broadcast([k.shape, a.shape, b.shape]) }];
    },
    grad: (c) => {
      const dy = c.gradOut(0);
      const zero = c.g.scalar(0);
      return [
        undefined,
        dy && c.needs(1) ? reduceToShape(c.g, c.g.op1('Where', [c.input(0), dy, zero]), c.input(1).shape) : undefined,
        dy && c.needs(2) ? reduceToShape(c.g, c.g.op1('Where', [c.input(0), zero, dy]), c.input(2).shape) : undefined,
      ];
    },
  },
  {
    op: 'Cast',
    infer: (c) => {
      const to = DTYPE_FROM_ELEM[c.attrs.to as number];
      if (!to) throw new Error(`Cast: unsupported 'to' ${String(c.attrs.to)}`);
      return [{ dtype: to, shape: req(c, 0).shape }];
    },
    grad: (c) => {
      const dy = c.gradOut(0);
      // NOTE: only float -> float carries a gradient; casts to/from ints are piecewise constant.
      return [dy && c.needs(0) && c.input(0).dtype === 'float32' && c.output(0).dtype === 'float32' ? dy : undefined];
    },
  },
  { op: 'Greater', infer: compare, grad: 'zero' },
  { op: 'Less', infer: compare, grad: 'zero' },
  { op: 'Equal', infer: compare, grad: 'zero' },
  { op: 'Sign', infer: floatUnary, grad: 'zero' },
  { op: 'Not', infer: (c) => { expectDType(req(c, 0), 'bool'); return same(c); }, grad: 'zero' },
  // Used by optimiser graphs, which are never differentiated.
  { op: 'Pow', infer: (c) => { const a = req(c, 0); return [{ dtype: a.dtype, shape: broadcast([a.shape, req(c, 1).shape]) }]; } },
  { op: 'Max', infer: arith },
  { op: 'Min', infer: arith },
];
