// Dynamic batcher: images from concurrent requests wait in one bounded queue and go to the
// model together; at most `concurrency` runs are in flight (one per worker). The policy is
// continuous batching: while every worker is busy images simply queue, and the moment a worker
// frees it takes everything queued, up to maxBatchSize. While a worker is free, a partial batch
// leaves at once unless waiting can help: it waits for company (at most maxDelayMs after its
// oldest image arrived) only while more images are on their way (`incoming()`: uploads being
// received or decoded). So a lone request is never held, and maxDelayMs = 0 means always eager.
// A full batch always leaves at once. A failed run fails only the requests that had images in
// it; an aborted request's images leave the queue if they have not been sent yet.
// maxBatchSize = 1 turns batching off.
import { AppError } from '../errors.js';
import { PIXELS_PER_IMAGE, type ModelSession } from './model-session.js';

export interface BatcherOptions {
  maxBatchSize: number;
  maxDelayMs: number;
  /** Most images waiting (not yet sent to the model); beyond it submit() answers 503. */
  queueMax: number;
  /** Runs in flight at once (the number of inference workers). */
  concurrency: number;
  /**
   * Images admitted upstream that will be submitted soon (being decoded). A partial batch waits
   * for company only while this is > 0; omitted = 0 (nothing announced, never wait).
   */
  incoming?: () => number;
}

export interface BatcherObserver {
  onBatch?(size: number, seconds: number, ok: boolean): void;
  onQueueDepth?(depth: number): void;
}

interface Job {
  results: Float32Array[];
  remaining: number;
  done: boolean;
  resolve: (r: Float32Array[]) => void;
  reject: (e: Error) => void;
}

interface Item { job: Job; index: number; input: Float32Array; enqueuedAt: number }

export class Batcher {
  private queue: Item[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  /** Set by drain(): batches leave at once instead of waiting for company. */
  private flushNow = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly session: ModelSession,
    private readonly opts: BatcherOptions,
    private readonly observer: BatcherObserver = {},
  ) {}

  get queueDepth(): number { return this.queue.length; }
  get runsInFlight(): number { return this.inFlight; }

  /** Whether `n` more images would fit in the queue now (checked before decoding, to shed load early). */
  hasRoomFor(n: number): boolean { return this.queue.length + n <= this.opts.queueMax; }

  /**
   * Resolves with one probability row per input, in input order. Rejects with AppError
   * 'overloaded' (queue full), 'timeout' (signal aborted first) or 'inference_failed'.
   */
  submit(inputs: Float32Array[], signal?: AbortSignal): Promise<Float32Array[]> {
    if (this.closing) return Promise.reject(new AppError('shutting_down', 'the server is shutting down', { retryAfter: 1 }));
    if (inputs.length === 0) return Promise.resolve([]);
    for (const x of inputs) {
      if (x.length !== PIXELS_PER_IMAGE) return Promise.reject(new Error(`each input must have ${PIXELS_PER_IMAGE} floats, got ${x.length}`));
    }
    if (!this.hasRoomFor(inputs.length)) {
      return Promise.reject(new AppError('overloaded', `inference queue is full (${this.queue.length}/${this.opts.queueMax} images waiting)`, { retryAfter: 1 }));
    }
    if (signal?.aborted) return Promise.reject(timeoutError(signal));
    return new Promise<Float32Array[]>((resolve, reject) => {
      const job: Job = { results: new Array(inputs.length), remaining: inputs.length, done: false, resolve, reject };
      const now = performance.now();
      for (let i = 0; i < inputs.length; i++) this.queue.push({ job, index: i, input: inputs[i], enqueuedAt: now });
      this.observer.onQueueDepth?.(this.queue.length);
      if (signal) {
        const onAbort = () => this.fail(job, timeoutError(signal));
        signal.addEventListener('abort', onAbort, { once: true });
        const settle = () => signal.removeEventListener('abort', onAbort);
        job.resolve = (r) => { settle(); resolve(r); };
        job.reject = (e) => { settle(); reject(e); };
      }
      this.pump(false);
    });
  }

  /** Reject a job once and drop its images that have not been sent to the model yet. */
  private fail(job: Job, e: Error): void {
    if (job.done) return;
    job.done = true;
    const before = this.queue.length;
    this.queue = this.queue.filter((it) => it.job !== job);
    if (this.queue.length !== before) this.observer.onQueueDepth?.(this.queue.length);
    job.reject(e);
    this.pump(false);
  }

  /**
   * Send what is due to free workers. `workerFreed`: a run just ended, so the queue built up
   * while every worker was busy and already has all the company it will get: send it now.
   */
  private pump(workerFreed: boolean): void {
    while (this.inFlight < this.opts.concurrency && this.queue.length > 0) {
      if (!workerFreed && !this.dueNow()) {
        this.armTimer(this.opts.maxDelayMs - (performance.now() - this.queue[0].enqueuedAt));
        return;
      }
      this.clearTimer();
      this.launch(this.queue.splice(0, this.opts.maxBatchSize));
    }
    if (this.queue.length === 0) this.clearTimer();
    this.notifyIdle();
  }

  /** Whether the queue should leave now although a worker is free and the batch is not full. */
  private dueNow(): boolean {
    const o = this.opts;
    if (this.queue.length >= o.maxBatchSize || o.maxDelayMs === 0 || this.flushNow) return true;
    if ((o.incoming?.() ?? 0) <= 0) return true; // nobody else is coming: waiting only adds latency
    return performance.now() - this.queue[0].enqueuedAt >= o.maxDelayMs;
  }

  private armTimer(ms: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushOldest();
    }, Math.max(0, Math.ceil(ms)));
    // Not unref'd on purpose: it lives at most maxDelayMs and only while images wait, and those
    // images' callers are owed an answer even if nothing else keeps the process alive.
  }

  /** The delay of the oldest waiting image ran out: send what is queued if a worker is free. */
  private flushOldest(): void {
    if (this.queue.length > 0 && this.inFlight < this.opts.concurrency) this.launch(this.queue.splice(0, this.opts.maxBatchSize));
    this.pump(false);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private launch(items: Item[]): void {
    this.observer.onQueueDepth?.(this.queue.length);
    this.inFlight++;
    const n = items.length;
    const input = new Float32Array(n * PIXELS_PER_IMAGE);
    items.forEach((it, i) => input.set(it.input, i * PIXELS_PER_IMAGE));
    const classes = this.session.description.classes;
    const started = performance.now();
    this.session.run(input, n).then(
      ({ probabilities }) => {
        this.observer.onBatch?.(n, (performance.now() - started) / 1000, true);
        items.forEach((it, i) => {
          const job = it.job;
          if (job.done) return; // timed out meanwhile: the answer is dropped
          job.results[it.index] = probabilities.slice(i * classes, (i + 1) * classes);
          if (--job.remaining === 0) {
            job.done = true;
            job.resolve(job.results);
          }
        });
      },
      (e: unknown) => {
        this.observer.onBatch?.(n, (performance.now() - started) / 1000, false);
        const err = new AppError('inference_failed', 'inference failed', { cause: e });
        for (const job of new Set(items.map((it) => it.job))) this.fail(job, err);
      },
    ).finally(() => {
      this.inFlight--;
      this.pump(true);
    });
  }

  private notifyIdle(): void {
    if (this.queue.length === 0 && this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /**
   * Shutdown, step 1: send everything queued now (no delay) and from here on; submissions are
   * still taken (requests already admitted must finish). Resolves when nothing is queued or running.
   */
  drain(): Promise<void> {
    this.flushNow = true;
    this.clearTimer();
    const idle = new Promise<void>((res) => this.idleWaiters.push(res));
    this.pump(false);
    return idle;
  }

  /** Shutdown, step 2: refuse new submissions, then wait for the rest as drain() does. */
  close(): Promise<void> {
    this.closing = true;
    return this.drain();
  }
}

function timeoutError(signal: AbortSignal): AppError {
  const reason: unknown = signal.reason;
  return reason instanceof AppError ? reason : new AppError('timeout', 'the request took longer than allowed');
}
