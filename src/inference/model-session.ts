// The one seam between the service and onnxruntime. The batcher and routes depend on this
// interface only; src/inference/ort-session.ts (in a worker, via worker-pool.ts) implements it.
import type { ExecutionProviderName } from '../config.js';

export interface TensorInfo {
  name: string;
  /** Element type as onnxruntime names it, e.g. "float32". */
  type: string;
  /** Dimensions; symbolic ones (batch) are strings such as "N". */
  shape: Array<number | string>;
}

export interface ModelDescription {
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  /** The model card: the ONNX file's metadata_props (name, version, ...). */
  metadata: Record<string, string>;
  /** Hex SHA-256 of the .onnx file bytes. */
  sha256: string;
  producer: { name: string; version: string };
  opset: number;
  /** The input fed with images and the output read as class probabilities. */
  inputName: string;
  probabilitiesOutput: string;
  /** True when the model has no probabilities output and softmax is applied to logits here. */
  softmaxApplied: boolean;
  classes: number;
}

export interface RunResult {
  /** n × classes, row-major, each row sums to 1. */
  probabilities: Float32Array;
}

export interface ModelSession {
  readonly provider: ExecutionProviderName;
  readonly description: ModelDescription;
  /** `input` holds n images of 784 floats each, [0,1], light ink on black. */
  run(input: Float32Array, n: number): Promise<RunResult>;
  dispose(): Promise<void>;
}

export const PIXELS_PER_IMAGE = 28 * 28;
