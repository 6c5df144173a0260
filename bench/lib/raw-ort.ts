// Raw onnxruntime throughput of the model, in this process, with the service's own session code
// (src/inference/ort-session.ts: same providers, thread count and optimisation level) and no
// HTTP, decoding, preprocessing or batching around it: the ceiling end-to-end figures are
// compared against. With INFERENCE_WORKERS > 1 the service runs that many sessions in parallel,
// so this keeps the same number of runs in flight through the service's worker pool.
import { readFileSync } from 'node:fs';
import type { ExecutionProviderName } from '../../src/config.js';
import type { ModelSession } from '../../src/inference/model-session.js';
import { OrtModelSession } from '../../src/inference/ort-session.js';
import { WorkerPoolSession } from '../../src/inference/worker-pool.js';
import { digitBatch, type Digits } from './payloads.js';

export interface RawResult { batchSize: number; runs: number; imagesPerS: number; msPerRun: number }

export interface RawOptions {
  modelPath: string;
  providers: readonly ExecutionProviderName[];
  intraOpThreads: number;
  workers: number;
  seconds: number;
}

export async function measureRaw(digits: Digits, batchSizes: number[], opts: RawOptions): Promise<RawResult[]> {
  const modelBytes = new Uint8Array(readFileSync(opts.modelPath));
  const session: ModelSession = opts.workers > 1
    ? await WorkerPoolSession.create({ modelBytes, providers: opts.providers, intraOpThreads: opts.intraOpThreads, workers: opts.workers })
    : await OrtModelSession.create(modelBytes, { providers: opts.providers, intraOpThreads: opts.intraOpThreads });
  try {
    const out: RawResult[] = [];
    for (const b of [...new Set(batchSizes.map((x) => Math.max(1, Math.round(x))))].sort((x, y) => x - y)) {
      const inputs = Array.from({ length: opts.workers }, (_, w) => digitBatch(digits, b, w * b));
      for (let i = 0; i < 3; i++) await session.run(inputs[0], b); // warm-up
      let runs = 0;
      const t0 = performance.now();
      const deadline = t0 + opts.seconds * 1000;
      // One loop per worker keeps `workers` runs in flight, as the batcher's concurrency does.
      await Promise.all(inputs.map(async (x) => {
        while (performance.now() < deadline || runs === 0) {
          await session.run(x, b);
          runs++;
        }
      }));
      const s = (performance.now() - t0) / 1000;
      out.push({ batchSize: b, runs, imagesPerS: (runs * b) / s, msPerRun: (s * 1000 * opts.workers) / runs });
    }
    return out;
  } finally {
    await session.dispose();
  }
}
