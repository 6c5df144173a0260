// Graph -> ONNX ModelProto bytes (onnx-proto / protobufjs). All tensors use raw_data (little endian).
import onnxProto from 'onnx-proto';
import type { Graph } from './graph.js';
import type { AttrValue, DType, Shape, TensorData, Value } from './types.js';

const { onnx } = onnxProto;
type IAttr = onnxProto.onnx.IAttributeProto;

export const OPSET = 18;
export const IR_VERSION = 8;

const ELEM: Record<DType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float64: onnx.TensorProto.DataType.DOUBLE,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  bool: onnx.TensorProto.DataType.BOOL,
};
export const DTYPE_FROM_ELEM: Record<number, DType> = Object.fromEntries(
  Object.entries(ELEM).map(([k, v]) => [v, k as DType]));

function valueInfo(v: Value): onnxProto.onnx.IValueInfoProto {
  const dims = (v.shape as Shape).map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name: v.name, type: { tensorType: { elemType: ELEM[v.dtype], shape: { dim: dims } } } };
}

function rawBytes(data: TensorData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function attribute(name: string, a: AttrValue): IAttr {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof a === 'number') {
    if (!Number.isInteger(a)) throw new Error(`attribute ${name}=${a}: ints must be integers (use float())`);
    return { name, type: T.INT, i: a };
  }
  if (typeof a === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(a) };
  if (Array.isArray(a)) {
    for (const x of a) if (!Number.isInteger(x)) throw new Error(`attribute ${name}: ints must be integers`);
    return { name, type: T.INTS, ints: [...(a as number[])] };
  }
  const fa = a as { kind: string; value: number | readonly number[] };
  if (fa.kind === 'float') return { name, type: T.FLOAT, f: fa.value as number };
  return { name, type: T.FLOATS, floats: [...(fa.value as number[])] };
}

export interface SerializeOptions {
  metadata?: Record<string, string>;
  producer?: string;
  docString?: string;
}

/** Nodes and initializers that contribute to some graph output (rules and peepholes may leave
 *  dead nodes behind; they are not serialised). */
function live(g: Graph) {
  const need = new Set(g.outputs.map((v) => v.name));
  const nodes = [];
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    if (!n.outputs.some((v) => need.has(v.name))) continue;
    nodes.push(n);
    for (const v of n.inputs) if (v.name) need.add(v.name);
  }
  nodes.reverse();
  return { nodes, initializers: g.initializers.filter((i) => need.has(i.value.name)) };
}

export function toModelProto(g: Graph, o: SerializeOptions = {}): onnxProto.onnx.IModelProto {
  const { nodes, initializers } = live(g);
  return {
    irVersion: IR_VERSION,
    producerName: o.producer ?? 'onnx-digits',
    producerVersion: '0.1.0',
    docString: o.docString ?? '',
    opsetImport: [{ domain: '', version: OPSET }],
    metadataProps: Object.entries(o.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: g.name,
      node: nodes.map((n) => ({
        opType: n.op, name: n.name, domain: '',
        input: n.inputs.map((v) => v.name), output: n.outputs.map((v) => v.name),
        attribute: Object.entries(n.attrs).map(([k, a]) => attribute(k, a)),
      })),
      initializer: initializers.map(({ value, data }) => ({
        name: value.name, dataType: ELEM[value.dtype], dims: [...(value.shape as number[])], rawData: rawBytes(data),
      })),
      input: g.inputs.map(valueInfo),
      output: g.outputs.map(valueInfo),
    },
  };
}

export function serialize(g: Graph, o: SerializeOptions = {}): Uint8Array {
  if (g.outputs.length === 0) throw new Error(`graph ${g.name} has no outputs`);
  return onnx.ModelProto.encode(onnx.ModelProto.create(toModelProto(g, o))).finish();
}

export function decodeModel(bytes: Uint8Array): onnxProto.onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}
