// Reading an exported model back: an onnxruntime session for scoring, and the ONNX protobuf for
// what onnxruntime-node does not expose (metadata_props, the node list, the input's batch dim).
import { readFileSync } from 'node:fs';
import ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import type { LogitsFn } from './metrics.js';

const { onnx } = onnxProto;

export interface OnnxInfo {
  metadata: Record<string, string>;
  opTypes: string[];
  inputName: string;
  inputDims: (number | string)[];
  outputNames: string[];
}

/** A model file that is not a usable ONNX model (the CLI prints it as one line, exit 2). */
export class ModelFileError extends Error {
  constructor(readonly file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'ModelFileError';
  }
}

export function inspectOnnx(bytes: Uint8Array, file = 'model'): OnnxInfo {
  let m: InstanceType<typeof onnx.ModelProto>;
  try {
    m = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new ModelFileError(file, `not an ONNX model (${(e as Error).message})`);
  }
  const g = m.graph;
  const input = g?.input?.[0];
  if (!g || !input) throw new ModelFileError(file, 'not an ONNX model (no graph or no graph input)');
  const dims = (input.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue)));
  return {
    metadata: Object.fromEntries((m.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? ''])),
    opTypes: (g.node ?? []).map((n) => n.opType ?? ''),
    inputName: input.name ?? '',
    inputDims: dims,
    outputNames: (g.output ?? []).map((o) => o.name ?? ''),
  };
}

export interface OnnxScorer {
  logits: LogitsFn;
  probabilities: LogitsFn;
  info: OnnxInfo;
  close(): Promise<void>;
}

/** An onnxruntime CPU session over an exported model (input `input`, outputs `logits`, `probabilities`). */
export async function openOnnx(bytesOrFile: Uint8Array | string, threads = 2): Promise<OnnxScorer> {
  const bytes = typeof bytesOrFile === 'string' ? readFileSync(bytesOrFile) : bytesOrFile;
  const file = typeof bytesOrFile === 'string' ? bytesOrFile : 'model';
  const info = inspectOnnx(bytes, file);
  for (const need of ['logits', 'probabilities']) {
    if (!info.outputNames.includes(need)) throw new ModelFileError(file, `has no output "${need}" (outputs: ${info.outputNames.join(', ')})`);
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], intraOpNumThreads: threads, graphOptimizationLevel: 'all' });
  } catch (e) {
    throw new ModelFileError(file, `onnxruntime cannot load it (${(e as Error).message.split('\n')[0]})`);
  }
  const run = (out: 'logits' | 'probabilities'): LogitsFn => async (x, n) => {
    const r = await session.run({ [info.inputName]: new ort.Tensor('float32', x, [n, 1, 28, 28]) }, [out]);
    return r[out]!.data as Float32Array;
  };
  return { logits: run('logits'), probabilities: run('probabilities'), info, close: () => session.release() };
}
