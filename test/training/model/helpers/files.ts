// Test fixtures built from real files: checkpoints with a rewritten header, and small ONNX models
// with a chosen input (for the model-file checks of `evaluate`).
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const MAGIC = 'DGTCKPT1';

/**
 * A checkpoint file's bytes with its header JSON replaced by `mutate(header)` (mutate in place
 * or return a new value); the data section is kept byte for byte, so its SHA-256 still matches.
 */
export function reencodeHeader(bytes: Uint8Array, mutate: (h: Record<string, any>) => unknown): Buffer {
  const b = Buffer.from(bytes);
  const hlen = b.readUInt32LE(MAGIC.length);
  const start = MAGIC.length + 4;
  const pad = (4 - ((start + hlen) % 4)) % 4;
  const header = JSON.parse(b.subarray(start, start + hlen).toString('utf8')) as Record<string, any>;
  const data = b.subarray(start + hlen + pad);
  const ret = mutate(header);
  const hjson = Buffer.from(JSON.stringify(ret === undefined ? header : ret), 'utf8');
  const pad2 = (4 - ((start + hjson.length) % 4)) % 4;
  const len = Buffer.alloc(4);
  len.writeUInt32LE(hjson.length);
  return Buffer.concat([Buffer.from(MAGIC, 'ascii'), len, hjson, Buffer.alloc(pad2), data]);
}

type Dim = number | string;
const dims = (ds: Dim[]) => ({ dim: ds.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) });
const f32 = (name: string, ds: Dim[]) => ({ name, type: { tensorType: { elemType: 1, shape: dims(ds) } } });

/**
 * A valid ONNX model: input -> Reshape(flatShape) -> MatMul(W) = logits (10 classes),
 * Softmax(logits) = probabilities. `flatShape` [-1, F] follows the batch; [1, F] fixes it to 1.
 */
export function linearOnnx(inputDims: Dim[], flatShape: number[]): Uint8Array {
  const features = flatShape[1]!;
  const w = new Float32Array(features * 10).map((_, i) => ((i * 7919) % 13) / 13 - 0.5);
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'onnx-digits-test',
    opsetImport: [{ domain: '', version: 18 }],
    graph: {
      name: 'linear',
      node: [
        { opType: 'Reshape', input: ['input', 'flat_shape'], output: ['flat'], name: 'reshape' },
        { opType: 'MatMul', input: ['flat', 'W'], output: ['logits'], name: 'matmul' },
        { opType: 'Softmax', input: ['logits'], output: ['probabilities'], name: 'softmax', attribute: [{ name: 'axis', type: 2, i: 1 }] },
      ],
      initializer: [
        { name: 'flat_shape', dataType: 7, dims: [2], rawData: new Uint8Array(BigInt64Array.from(flatShape.map(BigInt)).buffer) },
        { name: 'W', dataType: 1, dims: [features, 10], rawData: new Uint8Array(w.buffer) },
      ],
      input: [f32('input', inputDims)],
      output: [f32('logits', [typeof inputDims[0] === 'string' ? inputDims[0] : flatShape[0]!, 10]), f32('probabilities', [typeof inputDims[0] === 'string' ? inputDims[0] : flatShape[0]!, 10])],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
