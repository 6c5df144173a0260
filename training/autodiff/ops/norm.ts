// Dropout (ONNX op, training mask output) and inference-mode BatchNormalization.
// Training-mode batch norm is composed from primitives in training/nn/layers.ts, so its gradient
// comes from the rules of ReduceMean/Sub/Mul/Sqrt/Div; only the eval-mode op is registered here.
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
  },
];
