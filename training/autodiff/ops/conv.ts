// 2-D Conv (any group incl. depthwise, dilations, strides, explicit pads, optional bias) and its
// adjoint ConvTranspose.
//   dX: stride 1 -> a Conv of dY with the kernel flipped spatially and in/out channels swapped
//       per group, pads (k-1)·d - p (stays on onnxruntime's NCHWc fast path);
//       stride > 1 -> ConvTranspose (the adjoint of Conv) with output_padding.
//   dW: 1×1/stride-1/unpadded/group-1 -> batched MatMul dY·Xᵀ summed over the batch;
//       depthwise -> one group per (sample, channel) in the natural layout, summed over N;
//       otherwise a role-swapped grouped Conv: batch <-> channels, dY as the kernel,
//       stride <-> dilation, group = g.
//   dB: ReduceSum of dY over N,H,W.
import type { Graph, InferContext, OutType } from '../../onnx/graph.js';
import type { Attrs, Value } from '../../onnx/types.js';
import { attrInt, attrInts } from '../../onnx/types.js';
import type { GradContext, OpDef } from '../rule.js';
import { expectDType, expectRank, req } from './infer-util.js';

export interface ConvGeom { group: number; strides: number[]; dilations: number[]; pads: number[]; k: number[] }

export function convGeom(attrs: Attrs, w: Value): ConvGeom {
  if (attrs.auto_pad !== undefined && attrs.auto_pad !== 'NOTSET') throw new Error('auto_pad is not supported: give explicit pads');
  const k = [w.shape[2] as number, w.shape[3] as number];
  const ks = attrInts(attrs, 'kernel_shape', k);
  if (ks[0] !== k[0] || ks[1] !== k[1]) throw new Error(`kernel_shape [${ks}] disagrees with W`);
  return {
    group: attrInt(attrs, 'group', 1),
    strides: [...attrInts(attrs, 'strides', [1, 1])],
    dilations: [...attrInts(attrs, 'dilations', [1, 1])],
    pads: [...attrInts(attrs, 'pads', [0, 0, 0, 0])],
    k,
  };
}

const convOut = (h: number, k: number, s: number, d: number, pb: number, pe: number) => Math.floor((h + pb + pe - d * (k - 1) - 1) / s) + 1;

function convInfer(c: InferContext): OutType[] {
  const [x, w] = [req(c, 0), req(c, 1)];
  expectRank(x, 4); expectRank(w, 4); expectDType(x, 'float32'); expectDType(w, 'float32');
  const geo = convGeom(c.attrs, w);
  const C = x.shape[1] as number;
  const M = w.shape[0] as number;
  if (C % geo.group || M % geo.group || w.shape[1] !== C / geo.group) {
    throw new Error(`W [${w.shape}] does not fit C=${C} with group=${geo.group}`);
  }
  const b = c.inputs[2];
  if (b && (b.shape.length !== 1 || b.shape[0] !== M)) throw new Error(`bias must be [${M}]`);
  const out = [0, 1].map((i) => {
    const o = convOut(x.shape[2 + i] as number, geo.k[i], geo.strides[i], geo.dilations[i], geo.pads[i], geo.pads[i + 2]);
    if (o < 1) throw new Error('output would be empty');
    return o;
  });
  return [{ dtype: 'float32', shape: [x.shape[0], M, out[0], out[1]] }];
}

function convTransposeInfer(c: InferContext): OutType[] {
  const [x, w] = [req(c, 0), req(c, 1)];
  expectRank(x, 4); expectRank(w, 4);
  const geo = convGeom(c.attrs, w);
  if (c.attrs.output_shape !== undefined) throw new Error('output_shape is not supported: give output_padding');
  const op = attrInts(c.attrs, 'output_padding', [0, 0]);
  if (w.shape[0] !== x.shape[1]) throw new Error(`W [${w.shape}] does not fit C=${x.shape[1]}`);
  const M = (w.shape[1] as number) * geo.group;
  const out = [0, 1].map((i) => geo.strides[i] * ((x.shape[2 + i] as number) - 1) + op[i] + geo.dilations[i] * (geo.k[i] - 1) + 1 - geo.pads[i] - geo.pads[i + 2]);
  return [{ dtype: 'float32', shape: [x.shape[0], M, out[0], out[1]] }];
}

/** W [M, C/g, kh, kw] -> flipped, channel-swapped [C, M/g, kh, kw] (kernel of dX as a Conv). */
function flippedKernel(g: Graph, w: Value, group: number): Value {
  const [M, Cg, kh, kw] = w.shape as number[];
  const Mg = M / group;
  let t = w;
  if (Cg !== 1 || Mg !== 1) {
    t = group === 1
      ? g.op1('Transpose', [w], { perm: [1, 0, 2, 3] })
      : g.op1('Reshape', [g.op1('Transpose', [g.op1('Reshape', [w, g.ints([group, Mg, Cg, kh, kw])])], { perm: [0, 2, 1, 3, 4] }), g.ints([Cg * group, Mg, kh, kw])]);
  }
  if (kh === 1 && kw === 1) return t;
  const big = 1 << 30;
  return g.op1('Slice', [t, g.ints([-1, -1]), g.ints([-big, -big]), g.ints([2, 3]), g.ints([-1, -1])]);
}

function gradX(c: GradContext, dy: Value, geo: ConvGeom): Value {
  const x = c.input(0);
  const w = c.input(1);
  const reach = geo.k.map((k, i) => geo.dilations[i] * (k - 1));
  const fits = geo.pads.every((p, i) => p <= reach[i % 2]);
  if (geo.strides.every((s) => s === 1) && fits) {
    const pads = geo.pads.map((p, i) => reach[i % 2] - p);
    return c.g.op1('Conv', [dy, flippedKernel(c.g, w, geo.group)], { group: geo.group, dilations: geo.dilations, pads, strides: [1, 1] });
  }
  const outPad = [0, 1].map((i) => (x.shape[2 + i] as number) -
    (geo.strides[i] * ((dy.shape[2 + i] as number) - 1) + reach[i] + 1 - geo.pads[i] - geo.pads[i + 2]));
  return c.g.op1('ConvTranspose', [dy, w], {
    group: geo.group, dilations: geo.dilations, pads: geo.pads, strides: geo.strides, output_padding: outPad,
  });
}

function gradW(c: GradContext, dy: Value, geo: ConvGeom): Value {
  const g = c.g;
  let x = c.input(0);
  const w = c.input(1);
  const [N, C, H, W] = x.shape as number[];
  const [M, Cg, kh, kw] = w.shape as number[];
  const [Ho, Wo] = [dy.shape[2] as number, dy.shape[3] as number];
  const G = geo.group;
  if (kh === 1 && kw === 1 && G === 1 && geo.strides.every((s) => s === 1) && geo.pads.every((p) => p === 0)) {
    const x3 = g.op1('Transpose', [g.op1('Reshape', [x, g.ints([N, C, H * W])])], { perm: [0, 2, 1] });
    const prod = g.op1('MatMul', [g.op1('Reshape', [dy, g.ints([N, M, Ho * Wo])]), x3]);
    return g.op1('Reshape', [g.op1('ReduceSum', [prod, g.ints([0])], { keepdims: 0 }), g.ints([M, C, 1, 1])]);
  }
  // Role-swapped conv: input [C/g, g·N, H, W], kernel [M, N, Ho, Wo], out [C/g, M, kh, kw].
  const pads = [...geo.pads];
  const size = [H, W];
  for (let i = 0; i < 2; i++) {
    // End padding that makes the output exactly k wide; trim input rows the forward never read.
    const pe = (geo.k[i] - 1) * geo.dilations[i] + geo.strides[i] * ((dy.shape[2 + i] as number) - 1) + 1 - size[i] - pads[i];
    if (pe < 0) size[i] += pe;
    pads[i + 2] = Math.max(pe, 0);
  }
  if (size[0] !== H || size[1] !== W) x = g.op1('Slice', [x, g.ints([0, 0]), g.ints(size), g.ints([2, 3])]);
  if (Cg === 1) {
    // Depthwise (incl. multiplier): one group per (n, c), natural layout, no transposes; each
    // group's im2col buffer is small enough to stay in cache. Sum the per-sample kernels over N.
    const xs = g.op1('Reshape', [x, g.ints([1, N * C, size[0], size[1]])]);
    const ks = g.op1('Reshape', [dy, g.ints([N * M, 1, Ho, Wo])]);
    const per = g.op1('Conv', [xs, ks], { group: N * C, strides: geo.dilations, dilations: geo.strides, pads });
    return g.op1('Reshape', [g.op1('ReduceSum', [g.op1('Reshape', [per, g.ints([N, M * kh * kw])]), g.ints([0])], { keepdims: 0 }), g.ints([M, 1, kh, kw])]);
  }
  const xs = g.op1('Reshape', [g.op1('Transpose', [g.op1('Reshape', [x, g.ints([N, G, Cg, size[0], size[1]])])], { perm: [2, 1, 0, 3, 4] }), g.ints([Cg, G * N, size[0], size[1]])]);
  const ks = g.op1('Reshape', [g.op1('Transpose', [g.op1('Reshape', [dy, g.ints([N, G, M / G, Ho, Wo])])], { perm: [1, 2, 0, 3, 4] }), g.ints([M, N, Ho, Wo])]);
  const dw = g.op1('Conv', [xs, ks], { group: G, strides: geo.dilations, dilations: geo.strides, pads });
  return g.op1('Transpose', [dw], { perm: [1, 0, 2, 3] });
}

export const convOps: OpDef[] = [
  {
    op: 'Conv', infer: convInfer,
    grad: (c) => {
      const dy = c.gradOut(0);
      if (!dy) return [];
      const geo = convGeom(c.attrs, c.input(1));
      return [
        c.needs(0) ? gradX(c, dy, geo) : undefined,
        c.needs(1) ? gradW(c, dy, geo) : undefined,
        c.node.inputs[2]?.name && c.needs(2) ? c.g.op1('ReduceSum', [dy, c.g.ints([0, 2, 3])], { keepdims: 0 }) : undefined,
      ];
    },
  },
  // Adjoint of Conv, used by Conv's dX; its own gradient is not needed by any model.
  { op: 'ConvTranspose', infer: convTransposeInfer },
];
