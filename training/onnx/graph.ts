// A typed ONNX graph builder. Every node is shape- and dtype-inferred when it is added (via the
// op's schema), so a malformed graph fails where it is built, naming the node, not deep inside
// onnxruntime. Names are deterministic: `<op>_<counter>` unless the caller names a value.
import {
  type Attrs, type DType, type Initializer, type Node, type Shape, type TensorData, type Value, shapeStr,
} from './types.js';

export interface InferContext {
  readonly op: string;
  readonly node: string;
  readonly inputs: readonly (Value | null)[];
  readonly attrs: Attrs;
  /** Constant data of input i when it is an initializer (Reshape shapes, axes, ...). */
  constant(i: number): TensorData | undefined;
  /** A fresh symbolic dim name (for sizes not known at build time). */
  symbol(): string;
}
export interface OutType { dtype: DType; shape: Shape }
export type InferFn = (c: InferContext) => OutType[];
export type SchemaLookup = (op: string) => InferFn | undefined;

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.:/-]*$/;
const DTYPE_OF: Record<string, DType> = {
  Float32Array: 'float32', Float64Array: 'float64', BigInt64Array: 'int64', Int32Array: 'int32', Uint8Array: 'bool',
};

export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  readonly initializers: Initializer[] = [];
  private readonly values = new Map<string, Value>();
  private readonly constData = new Map<string, TensorData>();
  private readonly constCache = new Map<string, Value>();
  private counter = 0;
  private symbols = 0;

  constructor(private readonly schemas: SchemaLookup, readonly name = 'graph') {}

  has(name: string): boolean {
    return this.values.has(name);
  }

  get(name: string): Value {
    const v = this.values.get(name);
    if (!v) throw new Error(`graph ${this.name}: no value named ${name}`);
    return v;
  }

  constantOf(v: Value): TensorData | undefined {
    return this.constData.get(v.name);
  }

  private declare(name: string, dtype: DType, shape: Shape): Value {
    if (!NAME_RE.test(name)) throw new Error(`invalid value name ${JSON.stringify(name)}`);
    if (this.values.has(name)) throw new Error(`value name ${name} is already used`);
    for (const d of shape) {
      if (typeof d === 'number' ? !(Number.isInteger(d) && d >= 0) : !NAME_RE.test(d)) {
        throw new Error(`value ${name}: bad dim ${String(d)} in ${shapeStr(shape)}`);
      }
    }
    const v: Value = { name, dtype, shape: [...shape] };
    this.values.set(name, v);
    return v;
  }

  private fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.counter++}`; while (this.values.has(name));
    return name;
  }

  input(name: string, dtype: DType, shape: Shape): Value {
    const v = this.declare(name, dtype, shape);
    this.inputs.push(v);
    return v;
  }

  /** Marks v as a graph output, renaming through Identity when `name` differs. */
  output(v: Value, name?: string): Value {
    this.own(v, 'output');
    const out = name !== undefined && name !== v.name ? this.op1('Identity', [v], {}, name) : v;
    if (this.outputs.some((o) => o.name === out.name)) throw new Error(`output ${out.name} declared twice`);
    this.outputs.push(out);
    return out;
  }

  initializer(name: string, shape: readonly number[], data: TensorData): Value {
    const dtype = DTYPE_OF[data.constructor.name];
    if (!dtype) throw new Error(`initializer ${name}: unsupported data type ${data.constructor.name}`);
    const n = shape.reduce((a, b) => a * b, 1);
    if (data.length !== n) throw new Error(`initializer ${name}: ${data.length} values for shape ${shapeStr(shape)}`);
    const v = this.declare(name, dtype, shape);
    this.initializers.push({ value: v, data });
    this.constData.set(name, data);
    return v;
  }

  /** A deduplicated constant (small tensors: shapes, axes, scalars). */
  constant(data: TensorData, shape: readonly number[]): Value {
    const key = `${data.constructor.name}|${shape.join(',')}|${Array.from(data as ArrayLike<number | bigint>).join(',')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const v = this.initializer(this.fresh('const'), shape, data);
    this.constCache.set(key, v);
    return v;
  }

  scalar(x: number): Value {
    return this.constant(new Float32Array([x]), []);
  }

  ints(xs: readonly number[]): Value {
    return this.constant(BigInt64Array.from(xs.map((x) => BigInt(x))), [xs.length]);
  }

  private own(v: Value, what: string): void {
    if (this.values.get(v.name) !== v) throw new Error(`${what} ${v.name} does not belong to graph ${this.name}`);
  }

  /** Adds a node; returns its outputs. `names` optionally names the outputs. */
  op(op: string, inputs: readonly (Value | null)[], attrs: Attrs = {}, nOut = 1, names?: readonly string[]): Value[] {
    const infer = this.schemas(op);
    const nodeName = `${op}_${this.counter++}`;
    if (!infer) throw new Error(`node ${nodeName}: op ${op} has no schema in the builder`);
    inputs.forEach((v) => v && this.own(v, `input of ${nodeName}`));
    const ctx: InferContext = {
      op, node: nodeName, inputs, attrs,
      constant: (i) => { const v = inputs[i]; return v ? this.constData.get(v.name) : undefined; },
      symbol: () => `${nodeName}_d${this.symbols++}`,
    };
    let types: OutType[];
    try {
      types = infer(ctx);
    } catch (e) {
      const ins = inputs.map((v) => (v ? `${v.name}:${v.dtype}${shapeStr(v.shape)}` : '-')).join(', ');
      throw new Error(`node ${nodeName} (${op}) inputs ${ins}: ${(e as Error).message}`);
    }
    if (types.length < nOut) throw new Error(`node ${nodeName}: ${op} has ${types.length} outputs, ${nOut} requested`);
    const outputs = types.slice(0, nOut).map((t, i) =>
      this.declare(names?.[i] ?? this.fresh(op.toLowerCase()), t.dtype, t.shape));
    this.nodes.push({ op, name: nodeName, inputs: inputs.map((v) => v ?? EMPTY), outputs, attrs });
    return outputs;
  }

  op1(op: string, inputs: readonly (Value | null)[], attrs: Attrs = {}, name?: string): Value {
    return this.op(op, inputs, attrs, 1, name === undefined ? undefined : [name])[0];
  }
}

/** Placeholder for an omitted optional input (serialised as ''). */
export const EMPTY: Value = { name: '', dtype: 'float32', shape: [] };
