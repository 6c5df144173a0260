// Lifecycle of the model inside the service: load (provider fallback, in workers), warm up,
// serve through the batcher, drain. Readiness is derived from this state alone.
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { Config, ExecutionProviderName } from './config.js';
import { Batcher } from './inference/batcher.js';
import { PIXELS_PER_IMAGE, type ModelDescription, type ModelSession } from './inference/model-session.js';
import { WorkerPoolSession } from './inference/worker-pool.js';
import type { ServiceMetrics } from './metrics.js';

export type HostState = 'loading' | 'ready' | 'failed' | 'draining' | 'closed';

export interface ModelIdentity { name: string; version: string; sha256: string }

/** Open MODEL_PATH in worker threads, trying EXECUTION_PROVIDERS in order (warnings are logged). */
export async function openModelSession(config: Config, log: FastifyBaseLogger): Promise<ModelSession> {
  const modelBytes = new Uint8Array(await readFile(config.MODEL_PATH));
  const pool = await WorkerPoolSession.create({
    modelBytes,
    providers: config.EXECUTION_PROVIDERS,
    intraOpThreads: config.ORT_INTRA_OP_THREADS,
    workers: config.INFERENCE_WORKERS,
    onWorkerExit: (info) => log.error(info, 'inference worker exited unexpectedly; replacing it'),
  });
  for (const a of pool.attempts) {
    if (!a.ok) log.warn({ provider: a.provider, reason: a.error }, `execution provider ${a.provider} failed; trying the next one`);
  }
  log.info({ provider: pool.provider, workers: config.INFERENCE_WORKERS, model: config.MODEL_PATH }, 'model loaded');
  return pool;
}

/** One run per power-of-two batch size up to the max (and the max), on every worker. */
export async function warmUp(session: ModelSession, maxBatch: number, parallel: number): Promise<void> {
  const sizes: number[] = [];
  for (let s = 1; s < maxBatch; s *= 2) sizes.push(s);
  sizes.push(maxBatch);
  for (const n of sizes) {
    await Promise.all(Array.from({ length: parallel }, () => session.run(new Float32Array(n * PIXELS_PER_IMAGE), n)));
  }
}

export class ModelHost {
  state: HostState = 'loading';
  session?: ModelSession;
  batcher?: Batcher;
  loadError?: Error;
  /** Images decoded or being decoded but not yet queued (counted against QUEUE_MAX). */
  imagesPreprocessing = 0;
  /** /predict requests admitted whose bodies are still being read (one image each, at least). */
  requestsReading = 0;
  /** Resolves when ready; rejects when loading failed. */
  readonly loaded: Promise<void>;

  constructor(
    private readonly config: Config,
    private readonly metrics: ServiceMetrics,
    private readonly log: FastifyBaseLogger,
    open: () => Promise<ModelSession>,
  ) {
    this.loaded = this.load(open);
    this.loaded.catch(() => { /* state and loadError carry it; server.ts exits on it */ });
  }

  private async load(open: () => Promise<ModelSession>): Promise<void> {
    try {
      const session = await open();
      if (this.state !== 'loading') {
        await session.dispose();
        return;
      }
      this.session = session;
      const t0 = performance.now();
      await warmUp(session, this.config.BATCH_MAX_SIZE, this.config.INFERENCE_WORKERS);
      this.log.info({ ms: Math.round(performance.now() - t0), maxBatch: this.config.BATCH_MAX_SIZE }, 'model warmed up');
      this.batcher = new Batcher(session, {
        maxBatchSize: this.config.BATCH_MAX_SIZE,
        maxDelayMs: this.config.BATCH_MAX_DELAY_MS,
        queueMax: this.config.QUEUE_MAX,
        concurrency: this.config.INFERENCE_WORKERS,
        // Uploads being received or decoded will be submitted soon: only then is waiting for
        // company useful (and never longer than BATCH_MAX_DELAY_MS).
        incoming: () => this.imagesPreprocessing + this.requestsReading,
      }, {
        onBatch: (size, seconds, ok) => {
          this.metrics.batchSize.observe(size);
          this.metrics.batchDuration.observe({ outcome: ok ? 'ok' : 'error' }, seconds);
        },
        onQueueDepth: (d) => this.metrics.queueDepth.set(d),
      });
      const id = this.identity;
      this.metrics.modelInfo.set({ ...id, provider: session.provider }, 1);
      if (this.state === 'loading') {
        this.state = 'ready';
        this.metrics.ready.set(1);
      }
    } catch (e) {
      this.state = 'failed';
      this.loadError = e instanceof Error ? e : new Error(String(e));
      this.log.error({ err: this.loadError }, 'model failed to load');
      throw this.loadError;
    }
  }

  /** Start times of /predict requests past their body (decoding, queued, running), oldest first. */
  private readonly working = new Set<{ at: number }>();

  /** Mark a request's body as read; call the returned function once it is answered. */
  startWork(): () => void {
    const token = { at: performance.now() };
    this.working.add(token);
    return () => this.working.delete(token);
  }

  /** How long the oldest request still being worked on has been at it (0 when none). */
  get oldestWorkMs(): number {
    for (const t of this.working) return performance.now() - t.at;
    return 0;
  }

  /**
   * Whether any admitted /predict work is unanswered (decoding, queued, running, or answering).
   * Bodies still arriving are not counted: the drain cuts those once its grace has passed.
   */
  get processing(): boolean {
    return this.working.size > 0 || this.imagesPreprocessing > 0 || (this.batcher?.queueDepth ?? 0) > 0;
  }

  /** What QUEUE_MAX bounds: images queued, being decoded, or on their way in request bodies. */
  get imagesAdmitted(): number {
    return (this.batcher?.queueDepth ?? 0) + this.imagesPreprocessing + this.requestsReading;
  }

  get provider(): ExecutionProviderName | undefined { return this.session?.provider; }
  get description(): ModelDescription | undefined { return this.session?.description; }

  get identity(): ModelIdentity {
    const d = this.session?.description;
    const fallbackName = basename(this.config.MODEL_PATH, extname(this.config.MODEL_PATH));
    return { name: d?.metadata.name ?? fallbackName, version: d?.metadata.version ?? 'unknown', sha256: d?.sha256 ?? '' };
  }

  /**
   * SIGTERM, step 1: readiness false and new requests refused (the predict hook reads state)
   * at once; queued images go to the model without waiting. Requests already admitted finish.
   */
  beginDrain(): void {
    if (this.state === 'draining' || this.state === 'closed') return;
    this.state = 'draining';
    this.metrics.ready.set(0);
    void this.batcher?.drain();
  }

  /** Step 2 (app onClose, after in-flight HTTP requests ended): finish runs, stop the workers. */
  async close(): Promise<void> {
    this.beginDrain();
    this.state = 'closed';
    await this.batcher?.close();
    await this.loaded.catch(() => undefined);
    await this.session?.dispose();
  }
}
