// Shared shape-inference helpers (broadcasting, axes, dims with symbols).
import type { InferContext, OutType } from '../../onnx/graph.js';
import type { DType, Dim, Shape, Value } from '../../onnx/types.js';
import { shapeStr } from '../../onnx/types.js';

export function req(c: InferContext, i: number): Value {
  const v = c.inputs[i];
  if (!v) throw new Error(`input ${i} is required`);
  return v;
}

export function expectDType(v: Value, ...allowed: DType[]): void {
  if (!allowed.includes(v.dtype)) throw new Error(`${v.name} has dtype ${v.dtype}, expected ${allowed.join('|')}`);
}

export function expectRank(v: Value, ...ranks: number[]): void {
  if (!ranks.includes(v.shape.length)) throw new Error(`${v.name} has rank ${v.shape.length} ${shapeStr(v.shape)}, expected ${ranks.join('|')}`);
}

export function sameDType(vs: readonly Value[]): DType {
  const d = vs[0].dtype;
  for (const v of vs) if (v.dtype !== d) throw new Error(`dtype mismatch: ${vs.map((x) => `${x.name}:${x.dtype}`).join(', ')}`);
  return d;
}

/** Numpy-style multidirectional broadcast. */
export function broadcast(shapes: readonly Shape[]): Dim[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of shapes) {
      const k = s.length - rank + i;
      if (k < 0) continue;
      const e = s[k];
      if (e === 1) continue;
      if (d === 1) d = e;
      else if (d !== e) throw new Error(`shapes ${shapes.map(shapeStr).join(' ')} do not broadcast`);
    }
    out.push(d);
  }
  return out;
}

export function normAxis(a: number, rank: number): number {
  const r = a < 0 ? a + rank : a;
  if (r < 0 || r >= rank) throw new Error(`axis ${a} out of range for rank ${rank}`);
  return r;
}

/** int64 constant data of input i as numbers (axes, shapes, starts...). */
export function constInts(c: InferContext, i: number): number[] {
  const d = c.constant(i);
  if (!(d instanceof BigInt64Array)) throw new Error(`input ${i} must be an int64 constant (initializer)`);
  return Array.from(d, Number);
}

export const same = (c: InferContext): OutType[] => {
  const x = req(c, 0);
  return [{ dtype: x.dtype, shape: x.shape }];
};

export function dimMul(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a * b;
  if (a === 1) return b;
  if (b === 1) return a;
  throw new Error(`cannot multiply symbolic dims ${a}*${b}`);
}
