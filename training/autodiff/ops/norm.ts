// Dropout (ONNX op, training mask output) and BatchNormalization in its inference form
//   y = (x - mean) · scale / √(var + ε) + B
// with *all five inputs differentiable*. Training-mode batch norm (training/nn/layers.ts) feeds
// this op the batch mean and variance computed by ReduceSum primitives, so the whole batch-norm
// gradient is this rule plus the reductions' rules — one fused affine kernel forward and a handful
// of full-size passes backward instead of a dozen composed ones.
import type { Value } from '../../onnx/types.js';
import { attrFloat } from '../../onnx/types.js';
import type { OpDef } from '../rule.js';
import { expectDType, expectRank, req } from './infer-util.js';

export const normOps: OpDef[] = [
  {
    op: 'Dropout', // outputs (y, mask); y = x * mask / (1 - ratio) in training mode
    infer: (c) => {
      const x = req(c, 0);
      expectDType(x, 'float32');
      return [{ dtype: x.dtype, shape: x.shape }, { dtype: 'bool', shape: x.shape }];
    },
    grad: (c) => {
      const dy = c.gradOut(0);
      if (!dy || !c.needs(0)) return [undefined];
      const ratioV = c.node.inputs[1];
      const ratioD = ratioV?.name ? c.g.constantOf(ratioV) : undefined;
      const modeV = c.node.inputs[2];
      const modeD = modeV?.name ? c.g.constantOf(modeV) : undefined;
      if ((ratioV?.name && !ratioD) || (modeV?.name && !modeD)) throw new Error(`node ${c.node.name}: Dropout ratio and training_mode must be constants`);
      const training = modeD ? modeD[0] !== 0 : false;
      if (!training) return [dy];
      if (c.node.outputs.length < 2) throw new Error(`node ${c.node.name}: Dropout gradient needs the mask output`);
      const ratio = ratioD ? Number(ratioD[0]) : 0.5;
      return [c.g.op1('Where', [c.output(1), c.g.op1('Mul', [dy, c.g.scalar(1 / (1 - ratio))]), c.g.scalar(0)])];
    },
  },
  {
    op: 'BatchNormalization', // inference mode only (X, scale, B, mean, var)
    infer: (c) => {
      const x = req(c, 0);
      expectRank(x, 4);
      for (let i = 1; i < 5; i++) if (req(c, i).shape.length !== 1 || req(c, i).shape[0] !== x.shape[1]) throw new Error(`BN input ${i} must be [C]`);
      if (c.attrs.training_mode) throw new Error('training-mode BatchNormalization is composed from primitives, not this op');
      return [{ dtype: x.dtype, shape: x.shape }];
    },
    grad: (c) => {
      const dy = c.gradOut(0);
      if (!dy) return [];
      const g = c.g;
      const [x, scale, , mean, variance] = [0, 1, 2, 3, 4].map((i) => c.input(i));
      const C = x.shape[1] as number;
      const c4 = (v: Value) => g.op1('Reshape', [v, g.ints([1, C, 1, 1])]);
      const sumNHW = (v: Value) => g.op1('ReduceSum', [v, g.ints([0, 2, 3])], { keepdims: 0 });
      const mul = (a: Value, b: Value) => g.op1('Mul', [a, b]);
      const inv = g.op1('Reciprocal', [g.op1('Sqrt', [g.op1('Add', [variance, g.scalar(attrFloat(c.attrs, 'epsilon', 1e-5))])])]);
      const s = mul(scale, inv);
      const needStats = c.needs(1) || c.needs(3) || c.needs(4);
      const dB = c.needs(2) || needStats ? sumNHW(dy) : undefined;
      // Σ dy·(x - mean) = Σ dy·x - mean·Σ dy
      const dyXc = c.needs(1) || c.needs(4) ? g.op1('Sub', [sumNHW(mul(dy, x)), mul(mean, dB!)]) : undefined;
      const dScale = dyXc ? mul(dyXc, inv) : undefined;
      return [
        c.needs(0) ? mul(dy, c4(s)) : undefined,
        c.needs(1) ? dScale : undefined,
        c.needs(2) ? dB : undefined,
        c.needs(3) ? g.op1('Neg', [mul(s, dB!)]) : undefined,
        // d/dvar = Σ dy·(x-mean) · scale · (-1/2)(var+ε)^(-3/2)
        c.needs(4) ? mul(mul(dScale!, s), mul(inv, g.scalar(-0.5))) : undefined,
      ];
    },
  },
];
