// Reads the contract and the model card from the ONNX bytes themselves (onnxruntime-node does
// not expose metadata_props), so nothing about the model is restated in code.
import { createHash } from 'node:crypto';
import onnxProto from 'onnx-proto';
import type { ModelDescription, TensorInfo } from './model-session.js';

const { onnx } = onnxProto;

const ELEM_TYPE: Record<number, string> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 5: 'int16', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'float64',
};

export class ModelFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelFileError';
  }
}

function tensorInfo(v: onnxProto.onnx.IValueInfoProto): TensorInfo {
  const tt = v.type?.tensorType;
  const dims = tt?.shape?.dim ?? [];
  return {
    name: v.name ?? '',
    type: ELEM_TYPE[tt?.elemType ?? 0] ?? `onnx-type-${tt?.elemType ?? '?'}`,
    shape: dims.map((d) => (d.dimParam ? d.dimParam : d.dimValue !== undefined && d.dimValue !== null ? Number(d.dimValue) : '?')),
  };
}

const perImage = (t: TensorInfo) => t.shape.slice(1).reduce<number>((p, d) => p * (typeof d === 'number' ? d : NaN), 1);

/** The per-image dimensions the service can feed: ort-session.ts sends a rank-2 input [n,784] and any
 *  other [n,1,28,28], so exactly these two (a [N,28,28] input would be sent [n,1,28,28] and fail). */
const IMAGE_DIMS = ['1,28,28', '784'];

/** The input contract: float32, one of IMAGE_DIMS per image, and a batch dimension left open
 *  (symbolic such as "N", or unknown): the batcher runs up to BATCH_MAX_SIZE images at once. */
function checkInput(input: TensorInfo): void {
  const shape = `[${input.shape.join(',')}]`;
  if (input.type !== 'float32' || !IMAGE_DIMS.includes(input.shape.slice(1).join(','))) {
    throw new ModelFileError(`input "${input.name}" must be float32 [N,1,28,28] or [N,784], is ${input.type} ${shape}`);
  }
  if (typeof input.shape[0] === 'number') {
    throw new ModelFileError(`input "${input.name}" has a fixed batch size of ${input.shape[0]} (${shape}); the service runs batches of up to BATCH_MAX_SIZE images, so the first dimension must be dynamic (e.g. [N,${input.shape.slice(1).join(',')}])`);
  }
}

export function describeModel(bytes: Uint8Array): ModelDescription {
  let model: InstanceType<typeof onnx.ModelProto>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new ModelFileError(`not an ONNX model: ${(e as Error).message}`);
  }
  const graph = model.graph;
  if (!graph) throw new ModelFileError('not an ONNX model: it has no graph');
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const inputs = (graph.input ?? []).filter((i) => !initializers.has(i.name)).map(tensorInfo);
  const outputs = (graph.output ?? []).map(tensorInfo);
  if (inputs.length !== 1) throw new ModelFileError(`expected exactly one graph input, found ${inputs.length}: ${inputs.map((i) => i.name).join(', ')}`);
  const input = inputs[0];
  checkInput(input);
  const probs = outputs.find((o) => /prob/i.test(o.name));
  const logits = outputs.find((o) => /logit/i.test(o.name));
  const chosen = probs ?? logits ?? outputs[0];
  if (!chosen) throw new ModelFileError('model has no outputs');
  const classes = perImage(chosen);
  if (!Number.isInteger(classes) || classes < 2) {
    throw new ModelFileError(`output "${chosen.name}" must be [N,classes], is [${chosen.shape.join(',')}]`);
  }
  const metadata: Record<string, string> = {};
  for (const p of model.metadataProps) if (p.key) metadata[p.key] = p.value ?? '';
  return {
    inputs,
    outputs,
    metadata,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    producer: { name: model.producerName ?? '', version: model.producerVersion ?? '' },
    opset: Number(model.opsetImport.find((o) => !o.domain)?.version ?? 0),
    inputName: input.name,
    probabilitiesOutput: chosen.name,
    softmaxApplied: !probs,
    classes,
  };
}
