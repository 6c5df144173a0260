// Shape ops: Reshape, Flatten, Transpose, Concat, Unsqueeze, Squeeze, Slice, Pad, Expand.
// Each gradient moves dY back through the inverse data movement.
import type { Graph, InferContext, OutType } from '../../onnx/graph.js';
import type { Dim, Shape, Value } from '../../onnx/types.js';
import { attrInt, attrInts, isStatic, shapeStr } from '../../onnx/types.js';
import { reduceToShape } from '../broadcast.js';
import type { OpDef } from '../rule.js';
import { broadcast, constInts, dimMul, normAxis, req } from './infer-util.js';

/** Reshape v to a static shape (the gradient of every pure reshaping op). */
export function reshapeTo(g: Graph, v: Value, shape: Shape): Value {
  if (!isStatic(shape)) throw new Error(`reshape of ${v.name}: target ${shapeStr(shape)} is not static`);
  return g.op1('Reshape', [v, g.ints(shape)]);
}

function reshapeInfer(c: InferContext): OutType[] {
  const x = req(c, 0);
  const target = constInts(c, 1);
  const out: Dim[] = target.map((d, i) => (d === 0 ? x.shape[i] : d));
  const minus = out.indexOf(-1);
  if (out.filter((d) => d === -1).length > 1) throw new Error('Reshape: more than one -1');
  if (isStatic(x.shape)) {
    const total = x.shape.reduce((a, b) => a * b, 1);
    const known = (out.filter((d) => d !== -1) as Dim[]).reduce<number>((a, d) => a * (d as number), 1);
    if (minus >= 0) {
      if (known === 0 || total % known) throw new Error(`Reshape ${shapeStr(x.shape)} -> ${shapeStr(target)}`);
      out[minus] = total / known;
    } else if (known !== total) throw new Error(`Reshape ${shapeStr(x.shape)} -> ${shapeStr(target)}: element counts differ`);
  } else if (minus >= 0) out[minus] = c.symbol();
  return [{ dtype: x.dtype, shape: out }];
}

const backReshape: OpDef['grad'] = (c) => {
  const dy = c.gradOut(0);
  return [dy && c.needs(0) ? reshapeTo(c.g, dy, c.input(0).shape) : undefined];
};

function sliceParams(c: InferContext, rank: number) {
  const starts = constInts(c, 1);
  const ends = constInts(c, 2);
  const axes = c.inputs[3] ? constInts(c, 3).map((a) => normAxis(a, rank)) : starts.map((_, i) => i);
  const steps = c.inputs[4] ? constInts(c, 4) : starts.map(() => 1);
  return { starts, ends, axes, steps };
}

function sliceInfer(c: InferContext): OutType[] {
  const x = req(c, 0);
  const out = [...x.shape];
  const { starts, ends, axes, steps } = sliceParams(c, x.shape.length);
  axes.forEach((a, i) => {
    const d = x.shape[a];
    if (typeof d !== 'number') throw new Error('Slice on a symbolic dim');
    const st = steps[i];
    if (st === 0) throw new Error('Slice step 0');
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + d : v, lo), hi);
    const s = st > 0 ? clamp(starts[i], 0, d) : clamp(starts[i], -1, d - 1);
    const e = st > 0 ? clamp(ends[i], 0, d) : clamp(ends[i], -1, d - 1);
    out[a] = Math.max(0, Math.ceil((e - s) / st));
  });
  return [{ dtype: x.dtype, shape: out }];
}

export const shapeOps: OpDef[] = [
  { op: 'Reshape', infer: reshapeInfer, grad: backReshape },
  {
    op: 'Flatten',
    infer: (c) => {
      const x = req(c, 0);
      const axis = normAxis(attrInt(c.attrs, 'axis', 1), x.shape.length + 1);
      const prod = (ds: Dim[]) => ds.reduce<Dim>((a, b) => dimMul(a, b), 1);
      return [{ dtype: x.dtype, shape: [prod(x.shape.slice(0, axis)), prod(x.shape.slice(axis))] }];
    },
    grad: backReshape,
  },
  {
    op: 'Transpose',
    infer: (c) => {
      const x = req(c, 0);
      const perm = attrInts(c.attrs, 'perm', x.shape.map((_, i) => x.shape.length - 1 - i));
      if (perm.length !== x.shape.length || new Set(perm).size !== perm.length) throw new Error(`bad perm [${perm}]`);
      return [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]) }];
    },
    grad: (c) => {
      const dy = c.gradOut(0);
      if (!dy || !c.needs(0)) return [undefined];
      const perm = attrInts(c.attrs, 'perm', c.input(0).shape.map((_, i, a) => a.length - 1 - i));
      const inv = perm.map((_, i) => perm.indexOf(i));
      return [c.g.op1('Transpose', [dy], { perm: inv })];
    },
  },
  {
    op: 'Concat',
    infer: (c) => {
      const ins = c.inputs.map((_, i) => req(c, i));
      const axis = normAxis(attrInt(c.attrs, 'axis', 0), ins[0].shape.length);
      const out = [...ins[0].shape];
      let total = 0;
      for (const v of ins) {
        if (v.dtype !== ins[0].dtype || v.shape.length !== out.length) throw new Error('Concat inputs differ in dtype or rank');
        v.shape.forEach((d, i) => { if (i !== axis && d !== out[i]) throw new Error(`Concat shapes ${shapeStr(v.shape)} vs ${shapeStr(out)}`); });
        total += v.shape[axis] as number;
      }
      out[axis] = total;
      return [{ dtype: ins[0].dtype, shape: out }];
    },
    grad: (c) => {
      const dy = c.gradOut(0);
      const axis = normAxis(attrInt(c.attrs, 'axis', 0), c.input(0).shape.length);
      let offset = 0;
      return c.node.inputs.map((v, i) => {
        const n = v.shape[axis] as number;
        const start = offset;
        offset += n;
        return dy && c.needs(i) ? c.g.op1('Slice', [dy, c.g.ints([start]), c.g.ints([start + n]), c.g.ints([axis])]) : undefined;
      });
    },
  },
  {
    op: 'Unsqueeze',
    infer: (c) => {
      const x = req(c, 0);
      const rank = x.shape.length + constInts(c, 1).length;
      const axes = constInts(c, 1).map((a) => normAxis(a, rank));
      const out: Dim[] = [];
      let k = 0;
      for (let i = 0; i < rank; i++) out.push(axes.includes(i) ? 1 : x.shape[k++]);
      return [{ dtype: x.dtype, shape: out }];
    },
    grad: backReshape,
  },
  {
    op: 'Squeeze',
    infer: (c) => {
      const x = req(c, 0);
      const axes = constInts(c, 1).map((a) => normAxis(a, x.shape.length));
      for (const a of axes) if (x.shape[a] !== 1) throw new Error(`Squeeze axis ${a} has size ${x.shape[a]}`);
      return [{ dtype: x.dtype, shape: x.shape.filter((_, i) => !axes.includes(i)) }];
    },
    grad: backReshape,
  },
  {
    op: 'Slice', infer: sliceInfer,
    grad: (c) => { // step-1 slices: pad the gradient back with zeros
      const dy = c.gradOut(0);
      if (!dy || !c.needs(0)) return [undefined];
      const x = c.input(0);
      const rank = x.shape.length;
      const ctx = { constant: (i: number) => { const v = c.node.inputs[i]; return v && v.name ? c.g.constantOf(v) : undefined; }, inputs: c.node.inputs } as unknown as InferContext;
      const { starts, axes, steps } = sliceParams(ctx, rank);
      if (steps.some((s) => s !== 1)) throw new Error(`node ${c.node.name}: Slice gradient supports step 1 only`);
      const pads = new Array<number>(2 * rank).fill(0);
      axes.forEach((a, i) => {
        const d = x.shape[a] as number;
        const s = Math.min(Math.max(starts[i] < 0 ? starts[i] + d : starts[i], 0), d);
        pads[a] = s;
        pads[rank + a] = d - s - (dy.shape[a] as number);
      });
      return [c.g.op1('Pad', [dy, c.g.ints(pads)])];
    },
  },
  {
    op: 'Pad', // constant mode, zero value
    infer: (c) => {
      const x = req(c, 0);
      const pads = constInts(c, 1);
      if ((c.attrs.mode ?? 'constant') !== 'constant') throw new Error('Pad: only constant mode');
      if (pads.length !== 2 * x.shape.length) throw new Error('Pad: pads length must be 2*rank');
      return [{ dtype: x.dtype, shape: x.shape.map((d, i) => (d as number) + pads[i] + pads[i + x.shape.length]) }];
    },
    grad: (c) => {
      const dy = c.gradOut(0);
      if (!dy || !c.needs(0)) return [undefined];
      const x = c.input(0);
      const pads = Array.from(c.g.constantOf(c.node.inputs[1]) as BigInt64Array, Number);
      if (pads.some((p) => p < 0)) throw new Error(`node ${c.node.name}: Pad gradient needs non-negative pads`);
      const r = x.shape.length;
      const axes = x.shape.map((_, i) => i);
      return [c.g.op1('Slice', [dy, c.g.ints(pads.slice(0, r)), c.g.ints(x.shape.map((d, i) => pads[i] + (d as number))), c.g.ints(axes)])];
    },
  },
  {
    op: 'Expand',
    infer: (c) => { const x = req(c, 0); return [{ dtype: x.dtype, shape: broadcast([x.shape, constInts(c, 1)]) }]; },
    grad: (c) => { const dy = c.gradOut(0); return [dy && c.needs(0) ? reduceToShape(c.g, dy, c.input(0).shape) : undefined]; },
  },
];
