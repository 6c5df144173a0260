// Reading an exported model back: an onnxruntime session for scoring, and the ONNX protobuf for
// what onnxruntime-node does not expose (metadata_props, the node list, the input's batch dim).
import { readFileSync, statSync } from 'node:fs';
import ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import type { LogitsFn } from './metrics.js';

const { onnx } = onnxProto;

export interface OnnxInfo {
  metadata: Record<string, string>;
  opTypes: string[];
  inputName: string;
  inputDims: (number | string)[];
  /** ONNX TensorProto.DataType of the input (1 = float32; 0 when the file does not say) */
  inputElemType: number;
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
    inputElemType: input.type?.tensorType?.elemType ?? 0,
    outputNames: (g.output ?? []).map((o) => o.name ?? ''),
  };
}

const FLOAT32 = 1;
const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();
/** onnxruntime's kernel error, without the C++ source location: "Reshape node 'r': <what went wrong>". */
function runError(e: unknown): string {
  const line = firstLine(e);
  const m = /running (\S+) node\. Name:'([^']*)' Status Message: (?:\S+:\d+ .*?\) )?(.+)$/.exec(line);
  return m ? `${m[1]} node '${m[2]}': ${m[3]}` : line;
}

/** What is wrong with a model's input for scoring digit images ([N, 1, 28, 28] float32, N dynamic), or null. */
export function inputContractProblem(info: OnnxInfo): string | null {
  const d = info.inputDims;
  const shown = `[${d.map((x) => (typeof x === 'string' ? x || '?' : String(x))).join(', ')}]`;
  const want = 'this pipeline feeds [N, 1, 28, 28] float32 with a dynamic batch N';
  if (info.inputElemType !== FLOAT32) return `input "${info.inputName}" has element type ${info.inputElemType} (${info.inputElemType === 0 ? 'unspecified' : 'not float32'}); ${want}`;
  if (d.length !== 4 || d[1] !== 1 || d[2] !== 28 || d[3] !== 28) return `input "${info.inputName}" has shape ${shown}; ${want}`;
  // a dim with neither a value nor a name decodes as 0: unknown, i.e. dynamic
  if (typeof d[0] === 'number' && d[0] !== 0) return `input "${info.inputName}" has a fixed batch of ${d[0]} (shape ${shown}); ${want}`;
  return null;
}

export interface OnnxScorer {
  logits: LogitsFn;
  probabilities: LogitsFn;
  info: OnnxInfo;
  close(): Promise<void>;
}

/** An onnxruntime CPU session over an exported model (input `input`, outputs `logits`, `probabilities`). */
export async function openOnnx(bytesOrFile: Uint8Array | string, threads = 2): Promise<OnnxScorer> {
  const file = typeof bytesOrFile === 'string' ? bytesOrFile : 'model';
  if (typeof bytesOrFile === 'string') {
    let dir = false;
    try { dir = statSync(bytesOrFile).isDirectory(); } catch { /* readFileSync reports it, naming the path */ }
    if (dir) throw new ModelFileError(file, 'is a directory, not an ONNX model file');
  }
  const bytes = typeof bytesOrFile === 'string' ? readFileSync(bytesOrFile) : bytesOrFile;
  const info = inspectOnnx(bytes, file);
  const contract = inputContractProblem(info);
  if (contract) throw new ModelFileError(file, contract);
  for (const need of ['logits', 'probabilities']) {
    if (!info.outputNames.includes(need)) throw new ModelFileError(file, `has no output "${need}" (outputs: ${info.outputNames.join(', ')})`);
  }
  let session: ort.InferenceSession;
  try {
    // fatal only: onnxruntime's own error log would repeat, over several lines, what ModelFileError says in one
    session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], intraOpNumThreads: threads, graphOptimizationLevel: 'all', logSeverityLevel: 4 });
  } catch (e) {
    throw new ModelFileError(file, `onnxruntime cannot load it (${firstLine(e)})`);
  }
  const run = (out: 'logits' | 'probabilities'): LogitsFn => async (x, n) => {
    let r: ort.InferenceSession.ReturnType;
    try {
      r = await session.run({ [info.inputName]: new ort.Tensor('float32', x, [n, 1, 28, 28]) }, [out]);
    } catch (e) {
      throw new ModelFileError(file, `onnxruntime cannot run it on a batch of ${n} (${runError(e)})`);
    }
    const y = r[out]!;
    if (y.type !== 'float32' || y.dims.length !== 2 || y.dims[0] !== n) {
      throw new ModelFileError(file, `output "${out}" is ${y.type} [${y.dims.join(', ')}] for a batch of ${n}; expected float32 [${n}, classes]`);
    }
    return y.data as Float32Array;
  };
  return { logits: run('logits'), probabilities: run('probabilities'), info, close: () => session.release() };
}
