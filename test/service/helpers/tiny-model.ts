// A throwaway ONNX model with the same contract as models/digits.onnx (input "input" float32
// [N,1,28,28], outputs "logits" and "probabilities" [N,10], model card in metadata_props), so
// service tests run real onnxruntime before the trained model exists. Flatten -> Gemm -> Softmax
// with seeded random weights: its answers are arbitrary but deterministic.
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export interface TinyModelOptions {
  seed?: number;
  metadata?: Record<string, string>;
  /** Fix the batch dimension (ORT then rejects any other batch size: a real run failure). */
  fixedBatch?: number;
  inputName?: string;
}

/** mulberry32: small, seedable, good enough for weights and test inputs. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function floatTensor(name: string, dims: number[], data: Float32Array) {
  return onnx.TensorProto.create({
    name,
    dims,
    dataType: onnx.TensorProto.DataType.FLOAT,
    rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  });
}

function valueInfo(name: string, dims: Array<number | string>) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

export const TINY_MODEL_CARD: Record<string, string> = {
  name: 'tiny-test-model',
  version: '0.0.1-test',
  description: 'Random Flatten->Gemm->Softmax used by the service tests',
};

export function buildTinyModel(opts: TinyModelOptions = {}): Uint8Array {
  const rand = seededRandom(opts.seed ?? 1234);
  const inputName = opts.inputName ?? 'input';
  const w = new Float32Array(784 * 10).map(() => (rand() - 0.5) * 0.2);
  const b = new Float32Array(10).map(() => (rand() - 0.5) * 0.1);
  const batch: number | string = opts.fixedBatch ?? 'N';
  const metadata = opts.metadata ?? TINY_MODEL_CARD;
  const graph = onnx.GraphProto.create({
    name: 'tiny',
    node: [
      onnx.NodeProto.create({ opType: 'Flatten', input: [inputName], output: ['flat'], name: 'flatten',
        attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }] }),
      onnx.NodeProto.create({ opType: 'Gemm', input: ['flat', 'W', 'B'], output: ['logits'], name: 'gemm' }),
      onnx.NodeProto.create({ opType: 'Softmax', input: ['logits'], output: ['probabilities'], name: 'softmax',
        attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }] }),
    ],
    initializer: [floatTensor('W', [784, 10], w), floatTensor('B', [10], b)],
    input: [valueInfo(inputName, [batch, 1, 28, 28])],
    output: [valueInfo('logits', [batch, 10]), valueInfo('probabilities', [batch, 10])],
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'onnx-digits-tests',
    opsetImport: [{ domain: '', version: 17 }],
    graph,
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(model).finish();
}
