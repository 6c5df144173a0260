// MatMul (rank >= 2, batch dims broadcast) and Gemm. dA = dY·Bᵀ, dB = Aᵀ·dY, with the
// transposes of Gemm folded into the flags of the gradient Gemms.
import type { InferContext, OutType } from '../../onnx/graph.js';
import type { Value } from '../../onnx/types.js';
import { attrFloat, attrInt, shapeStr } from '../../onnx/types.js';
import { reduceToShape } from '../broadcast.js';
import type { GradContext, OpDef } from '../rule.js';
import { broadcast, expectDType, req } from './infer-util.js';

function matmulInfer(c: InferContext): OutType[] {
  const [a, b] = [req(c, 0), req(c, 1)];
  expectDType(a, 'float32'); expectDType(b, 'float32');
  if (a.shape.length < 2 || b.shape.length < 2) throw new Error('MatMul operands must have rank >= 2');
  const [m, ka] = a.shape.slice(-2);
  const [kb, n] = b.shape.slice(-2);
  if (ka !== kb) throw new Error(`MatMul ${shapeStr(a.shape)} x ${shapeStr(b.shape)}: inner dims differ`);
  return [{ dtype: 'float32', shape: [...broadcast([a.shape.slice(0, -2), b.shape.slice(0, -2)]), m, n] }];
}

const lastTwoT = (c: GradContext, v: Value) => {
  const r = v.shape.length;
  return c.g.op1('Transpose', [v], { perm: [...Array(r - 2).keys(), r - 1, r - 2] });
};

function gemmInfer(c: InferContext): OutType[] {
  const [a, b] = [req(c, 0), req(c, 1)];
  if (a.shape.length !== 2 || b.shape.length !== 2) throw new Error('Gemm operands must be 2-D');
  const ta = attrInt(c.attrs, 'transA', 0);
  const tb = attrInt(c.attrs, 'transB', 0);
  const [m, ka] = ta ? [a.shape[1], a.shape[0]] : a.shape;
  const [kb, n] = tb ? [b.shape[1], b.shape[0]] : b.shape;
  if (ka !== kb) throw new Error(`Gemm inner dims differ (${String(ka)} vs ${String(kb)})`);
  const cc = c.inputs[2];
  if (cc) broadcast([[m, n], cc.shape]);
  return [{ dtype: 'float32', shape: [m, n] }];
}

export const matmulOps: OpDef[] = [
  {
    op: 'MatMul', infer: matmulInfer,
    grad: (c) => {
      const dy = c.gradOut(0);
      const [a, b] = [c.input(0), c.input(1)];
      return [
        dy && c.needs(0) ? reduceToShape(c.g, c.g.op1('MatMul', [dy, lastTwoT(c, b)]), a.shape) : undefined,
        dy && c.needs(1) ? reduceToShape(c.g, c.g.op1('MatMul', [lastTwoT(c, a), dy]), b.shape) : undefined,
      ];
    },
  },
  {
    op: 'Gemm', infer: gemmInfer,
    grad: (c) => {
      const dy = c.gradOut(0);
      if (!dy) return [];
      const [a, b] = [c.input(0), c.input(1)];
      const ta = attrInt(c.attrs, 'transA', 0);
      const tb = attrInt(c.attrs, 'transB', 0);
      const alpha = attrFloat(c.attrs, 'alpha', 1);
      const beta = attrFloat(c.attrs, 'beta', 1);
      const g = c.g;
      const scaled = (v: Value, s: number) => (s === 1 ? v : g.op1('Mul', [v, g.scalar(s)]));
      const da = c.needs(0)
        ? scaled(ta ? g.op1('Gemm', [b, dy], { transA: tb, transB: 1 }) : g.op1('Gemm', [dy, b], { transB: tb ? 0 : 1 }), alpha)
        : undefined;
      const db = c.needs(1)
        ? scaled(tb ? g.op1('Gemm', [dy, a], { transA: 1, transB: ta }) : g.op1('Gemm', [a, dy], { transA: ta ? 0 : 1 }), alpha)
        : undefined;
      const cIn = c.node.inputs[2];
      const dc = cIn?.name && c.needs(2) ? scaled(reduceToShape(g, dy, cIn.shape), beta) : undefined;
      return [da, db, dc];
    },
  },
];
