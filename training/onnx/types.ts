// Core value types of the graph builder: dtypes, shapes (static numbers or named symbolic dims),
// attributes with explicit int/float kinds (ONNX distinguishes them; JS numbers do not).

export type DType = 'float32' | 'float64' | 'int64' | 'int32' | 'bool';
/** A dimension: a fixed size, or a symbol such as 'N' (dynamic batch). */
export type Dim = number | string;
export type Shape = readonly Dim[];

export interface Value {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: Shape;
}

/** A float attribute; a bare number is an int attribute. */
export interface FloatAttr { readonly kind: 'float'; readonly value: number }
export interface FloatsAttr { readonly kind: 'floats'; readonly value: readonly number[] }
export type AttrValue = number | readonly number[] | string | FloatAttr | FloatsAttr;
export type Attrs = Readonly<Record<string, AttrValue>>;

export const float = (value: number): FloatAttr => ({ kind: 'float', value });
export const floats = (value: readonly number[]): FloatsAttr => ({ kind: 'floats', value });

export interface Node {
  readonly op: string;
  readonly name: string;
  readonly inputs: readonly Value[];
  readonly outputs: readonly Value[];
  readonly attrs: Attrs;
}

/** Constant tensor data carried by the graph (initializers). */
export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

export interface Initializer {
  readonly value: Value;
  readonly data: TensorData;
}

export function attrInt(attrs: Attrs, name: string, dflt: number): number {
  const a = attrs[name];
  if (a === undefined) return dflt;
  if (typeof a !== 'number') throw new Error(`attribute ${name} must be an int`);
  return a;
}

export function attrInts(attrs: Attrs, name: string, dflt: readonly number[]): readonly number[] {
  const a = attrs[name];
  if (a === undefined) return dflt;
  if (!Array.isArray(a)) throw new Error(`attribute ${name} must be ints`);
  return a as readonly number[];
}

export function attrFloat(attrs: Attrs, name: string, dflt: number): number {
  const a = attrs[name];
  if (a === undefined) return dflt;
  if (typeof a === 'object' && !Array.isArray(a) && (a as FloatAttr).kind === 'float') return (a as FloatAttr).value;
  throw new Error(`attribute ${name} must be a float`);
}

export function shapeStr(s: Shape): string {
  return `[${s.join(',')}]`;
}

/** Number of elements of a static shape; throws for symbolic dims. */
export function numel(s: Shape): number {
  let n = 1;
  for (const d of s) {
    if (typeof d !== 'number') throw new Error(`shape ${shapeStr(s)} is not static`);
    n *= d;
  }
  return n;
}

export function isStatic(s: Shape): s is readonly number[] {
  return s.every((d) => typeof d === 'number');
}
