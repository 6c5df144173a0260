// Pooling. MaxPool's gradient routes dY to the argmax positions: for a single-output tiled pool
// by comparing each tile with its max; with the Indices output (flattened over N·C·H·W) by
// MaxUnpool when windows do not overlap, ScatterElements(add) when they do (3×3/s2: one input
// can be the max of two windows and must receive both gradients).
// AveragePool's adjoint is a depthwise ConvTranspose with a constant 1/(kh·kw) kernel.
import type { InferContext, OutType } from '../../onnx/graph.js';
import { attrInt, attrInts } from '../../onnx/types.js';
import type { Value } from '../../onnx/types.js';
import type { GradContext, OpDef } from '../rule.js';
import { expectDType, expectRank, req } from './infer-util.js';

function poolGeom(c: { attrs: InferContext['attrs'] }) {
  const k = [...attrInts(c.attrs, 'kernel_shape', [])];
  if (k.length !== 2) throw new Error('kernel_shape [kh, kw] is required');
  if (c.attrs.auto_pad !== undefined && c.attrs.auto_pad !== 'NOTSET') throw new Error('auto_pad is not supported');
  if (attrInt(c.attrs, 'ceil_mode', 0) !== 0) throw new Error('ceil_mode is not supported');
  const d = attrInts(c.attrs, 'dilations', [1, 1]);
  if (d.some((x) => x !== 1)) throw new Error('pool dilations are not supported');
  return { k, strides: [...attrInts(c.attrs, 'strides', [1, 1])], pads: [...attrInts(c.attrs, 'pads', [0, 0, 0, 0])] };
}

function poolInfer(c: InferContext): OutType[] {
  const x = req(c, 0);
  expectRank(x, 4); expectDType(x, 'float32');
  const { k, strides, pads } = poolGeom(c);
  const out = [0, 1].map((i) => Math.floor(((x.shape[2 + i] as number) + pads[i] + pads[i + 2] - k[i]) / strides[i]) + 1);
  const shape = [x.shape[0], x.shape[1], out[0], out[1]];
  return [{ dtype: 'float32', shape }, { dtype: 'int64', shape }];
}

/** Gradient of a tiled (kernel == stride, unpadded) MaxPool without Indices: dY goes to the
 *  positions equal to their tile's max. Keeps the forward on onnxruntime's fast single-output
 *  MaxPool. NOTE: an exact tie inside a tile sends dY to every tied position; after ReLU the only
 *  likely tie is an all-zero tile, whose gradient the ReLU mask then zeroes anyway. */
function tiledMaxGrad(c: GradContext, dy: Value, k: number[]): Value {
  const g = c.g;
  const [N, C, H, W] = c.input(0).shape as number[];
  const [Ho, Wo] = [dy.shape[2] as number, dy.shape[3] as number];
  const [He, We] = [Ho * k[0], Wo * k[1]];
  let x = c.input(0);
  if (He !== H || We !== W) x = g.op1('Slice', [x, g.ints([0, 0]), g.ints([He, We]), g.ints([2, 3])]);
  if (k[0] === k[1]) {
    // Tile positions become a leading axis: SpaceToDepth -> [N, k², C, Ho, Wo], compared with the
    // pooled max broadcast over that axis (long contiguous inner runs, unlike a 6-D tile
    // broadcast), and DepthToSpace puts the gradient back in place.
    const kk = k[0] * k[0];
    const xs = g.op1('Reshape', [g.op1('SpaceToDepth', [x], { blocksize: k[0] }), g.ints([N, kk, C, Ho, Wo])]);
    const one = g.ints([N, 1, C, Ho, Wo]);
    const hit = g.op1('Cast', [g.op1('Equal', [xs, g.op1('Reshape', [c.output(0), one])])], { to: 1 });
    const d5 = g.op1('Mul', [hit, g.op1('Reshape', [dy, one])]);
    let dx = g.op1('DepthToSpace', [g.op1('Reshape', [d5, g.ints([N, kk * C, Ho, Wo])])], { blocksize: k[0], mode: 'DCR' });
    if (He !== H || We !== W) dx = g.op1('Pad', [dx, g.ints([0, 0, 0, 0, 0, 0, H - He, W - We])]);
    return dx;
  }
  const tiles = g.ints([N, C, Ho, k[0], Wo, k[1]]);
  const one = g.ints([N, C, Ho, 1, Wo, 1]);
  const hit = g.op1('Cast', [g.op1('Equal', [g.op1('Reshape', [x, tiles]), g.op1('Reshape', [c.output(0), one])])], { to: 1 });
  let dx = g.op1('Reshape', [g.op1('Mul', [hit, g.op1('Reshape', [dy, one])]), g.ints([N, C, He, We])]);
  if (He !== H || We !== W) dx = g.op1('Pad', [dx, g.ints([0, 0, 0, 0, 0, 0, H - He, W - We])]);
  return dx;
}

export const poolOps: OpDef[] = [
  {
    op: 'MaxPool', infer: poolInfer,
    grad: (c) => {
      const dy = c.gradOut(0);
      if (!dy || !c.needs(0)) return [undefined];
      const g = c.g;
      const x = c.input(0);
      const shape = x.shape as number[];
      const { k, strides, pads } = poolGeom(c);
      if (c.node.outputs.length < 2) {
        if (k.some((kk, i) => kk !== strides[i]) || pads.some((p) => p)) {
          throw new Error(`node ${c.node.name}: overlapping or padded MaxPool needs the Indices output for its gradient (build it with 2 outputs)`);
        }
        return [tiledMaxGrad(c, dy, k)];
      }
      const idx = c.output(1);
      if (k.every((kk, i) => kk <= strides[i])) {
        return [g.op1('MaxUnpool', [dy, idx, g.ints(shape)], { kernel_shape: k, strides })];
      }
      const total = shape.reduce((a, b) => a * b, 1);
      const zeros = g.op1('Expand', [g.scalar(0), g.ints([total])]);
      const flat = (v: typeof dy) => g.op1('Reshape', [v, g.ints([-1])]);
      const sum = g.op1('ScatterElements', [zeros, flat(idx), flat(dy)], { axis: 0, reduction: 'add' });
      return [g.op1('Reshape', [sum, g.ints(shape)])];
    },
  },
  {
    op: 'AveragePool', infer: (c) => poolInfer(c).slice(0, 1),
    grad: (c) => {
      const dy = c.gradOut(0);
      if (!dy || !c.needs(0)) return [undefined];
      const { k, strides, pads } = poolGeom(c);
      if (pads.some((p) => p) && attrInt(c.attrs, 'count_include_pad', 0) === 0) {
        throw new Error(`node ${c.node.name}: AveragePool gradient with pads needs count_include_pad=1`);
      }
      const x = c.input(0);
      const C = x.shape[1] as number;
      const kernel = c.g.constant(new Float32Array(C * k[0] * k[1]).fill(1 / (k[0] * k[1])), [C, 1, k[0], k[1]]);
      const outPad = [0, 1].map((i) => (x.shape[2 + i] as number) - (strides[i] * ((dy.shape[2 + i] as number) - 1) + k[i] - pads[i] - pads[i + 2]));
      return [c.g.op1('ConvTranspose', [dy, kernel], { group: C, strides, pads, output_padding: outPad })];
    },
  },
  {
    op: 'GlobalAveragePool',
    infer: (c) => { const x = req(c, 0); expectRank(x, 4); return [{ dtype: x.dtype, shape: [x.shape[0], x.shape[1], 1, 1] }]; },
    grad: (c) => {
      const dy = c.gradOut(0);
      if (!dy || !c.needs(0)) return [undefined];
      const x = c.input(0);
      const hw = (x.shape[2] as number) * (x.shape[3] as number);
      return [c.g.op1('Expand', [c.g.op1('Mul', [dy, c.g.scalar(1 / hw)]), c.g.ints(x.shape as number[])])];
    },
  },
  {
    op: 'MaxUnpool',
    infer: (c) => {
      const x = req(c, 0);
      const shape = c.constant(2);
      if (!(shape instanceof BigInt64Array)) throw new Error('MaxUnpool needs a constant output_shape');
      return [{ dtype: x.dtype, shape: Array.from(shape, Number) }];
    },
  },
  {
    op: 'SpaceToDepth',
    infer: (c) => {
      const x = req(c, 0); const b = attrInt(c.attrs, 'blocksize', 0);
      if (b < 1 || (x.shape[2] as number) % b || (x.shape[3] as number) % b) throw new Error(`blocksize ${b} does not divide H, W`);
      return [{ dtype: x.dtype, shape: [x.shape[0], (x.shape[1] as number) * b * b, (x.shape[2] as number) / b, (x.shape[3] as number) / b] }];
    },
  },
  {
    op: 'DepthToSpace',
    infer: (c) => {
      const x = req(c, 0); const b = attrInt(c.attrs, 'blocksize', 0);
      if (b < 1 || (x.shape[1] as number) % (b * b)) throw new Error(`blocksize ${b}² does not divide C`);
      return [{ dtype: x.dtype, shape: [x.shape[0], (x.shape[1] as number) / (b * b), (x.shape[2] as number) * b, (x.shape[3] as number) * b] }];
    },
  },
  {
    op: 'ScatterElements',
    infer: (c) => { const d = req(c, 0); expectDType(req(c, 1), 'int64'); return [{ dtype: d.dtype, shape: d.shape }]; },
  },
];
