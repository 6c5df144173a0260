// onnxruntime-node glue: session creation with the engine's defaults and typed tensor helpers.
import ort from 'onnxruntime-node';
import type { DType, TensorData } from './types.js';

export type Tensor = ort.Tensor;
export type Session = ort.InferenceSession;
export const OrtTensor = ort.Tensor;

export interface SessionOptions {
  /** Intra-op threads (1 => bit-reproducible runs). */
  threads?: number;
  /** 'all' enables the NCHWc layout transform that makes depthwise convs fast. */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  profile?: string;
  /** onnxruntime session config entries, e.g. { 'session.intra_op.allow_spinning': '0' }. */
  config?: Record<string, string>;
}

function nest(entries: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(entries)) {
    const parts = key.split('.');
    let node = out;
    for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Record<string, unknown>;
    node[parts[parts.length - 1]] = value;
  }
  return out;
}

export function createSession(model: Uint8Array, o: SessionOptions = {}): Promise<Session> {
  return ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: o.optimization ?? 'all',
    intraOpNumThreads: o.threads ?? 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    enableCpuMemArena: true,
    enableMemPattern: true,
    ...(o.profile ? { enableProfiling: true, profileFilePrefix: o.profile } : {}),
    ...(o.config ? { extra: nest(o.config) } : {}),
  });
}

const ORT_TYPE: Record<DType, 'float32' | 'float64' | 'int64' | 'int32' | 'bool'> = {
  float32: 'float32', float64: 'float64', int64: 'int64', int32: 'int32', bool: 'bool',
};

export function makeTensor(dtype: DType, data: TensorData, dims: readonly number[]): Tensor {
  return new ort.Tensor(ORT_TYPE[dtype], data as Float32Array, dims);
}

export const f32 = (data: Float32Array, dims: readonly number[]): Tensor => new ort.Tensor('float32', data, dims);

/** The float32 data of an output tensor. */
export function floatData(t: Tensor | undefined, name: string): Float32Array {
  if (!t) throw new Error(`session produced no output ${name}`);
  if (t.type !== 'float32') throw new Error(`output ${name} is ${t.type}, expected float32`);
  return t.data as Float32Array;
}
