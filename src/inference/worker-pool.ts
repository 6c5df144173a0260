// ModelSession backed by N worker threads, one onnxruntime session each. A worker that dies
// fails only the run it held and is replaced; the pool never blocks the event loop.
import { Worker } from 'node:worker_threads';
import type { ExecutionProviderName } from '../config.js';
import type { ModelDescription, ModelSession, RunResult } from './model-session.js';
import { NoProviderError, type ProviderAttempt } from './ort-session.js';
import type { ToMain, ToWorker, WorkerInit } from './worker-protocol.js';

export interface WorkerPoolOptions {
  modelBytes: Uint8Array;
  providers: readonly ExecutionProviderName[];
  intraOpThreads: number;
  workers: number;
  /** Called when a worker dies unexpectedly (for logs); the pool replaces it. */
  onWorkerExit?: (info: { code: number; error?: string }) => void;
}

interface PendingRun { id: number; input: Float32Array; n: number; resolve: (r: RunResult) => void; reject: (e: Error) => void }
interface Slot { worker: Worker; busy?: PendingRun }

const selfUrl = import.meta.url;

/** Under tsx (the .ts sources) a worker needs the tsx loader registered inside it first. */
function spawn(init: WorkerInit): Worker {
  if (selfUrl.endsWith('.ts')) {
    const entry = new URL('./worker.ts', selfUrl).href;
    const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
    return new Worker(boot, { eval: true, workerData: init });
  }
  return new Worker(new URL('./worker.js', selfUrl), { workerData: init });
}

function startWorker(init: WorkerInit): Promise<{ worker: Worker; ready: Extract<ToMain, { type: 'ready' }> }> {
  return new Promise((resolve, reject) => {
    const worker = spawn(init);
    const onMessage = (m: ToMain) => {
      if (m.type === 'ready') {
        cleanup();
        resolve({ worker, ready: m });
      } else if (m.type === 'load-error') {
        cleanup();
        void worker.terminate();
        reject(m.attempts.length ? new NoProviderError(m.attempts) : new Error(m.message));
      }
    };
    const onError = (e: Error) => { cleanup(); reject(e); };
    const onExit = (code: number) => { cleanup(); reject(new Error(`inference worker exited with code ${code} while loading`)); };
    const cleanup = () => { worker.off('message', onMessage); worker.off('error', onError); worker.off('exit', onExit); };
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
  });
}

export class WorkerPoolSession implements ModelSession {
  private readonly slots: Slot[] = [];
  private readonly waiting: PendingRun[] = [];
  private nextId = 1;
  private closed = false;

  private constructor(
    private readonly opts: WorkerPoolOptions,
    private readonly init: WorkerInit,
    readonly provider: ExecutionProviderName,
    readonly description: ModelDescription,
    readonly attempts: ProviderAttempt[],
  ) {}

  static async create(opts: WorkerPoolOptions): Promise<WorkerPoolSession> {
    const init: WorkerInit = { modelBytes: opts.modelBytes, providers: [...opts.providers], intraOpThreads: opts.intraOpThreads };
    const started = await Promise.allSettled(Array.from({ length: opts.workers }, () => startWorker(init)));
    const failed = started.find((s) => s.status === 'rejected');
    const ok = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    if (failed) {
      await Promise.all(ok.map((s) => s.worker.terminate()));
      throw (failed as PromiseRejectedResult).reason;
    }
    const first = ok[0].ready;
    const pool = new WorkerPoolSession(opts, init, first.provider, first.description, first.attempts);
    for (const s of ok) pool.adopt(s.worker);
    return pool;
  }

  private adopt(worker: Worker): void {
    const slot: Slot = { worker };
    this.slots.push(slot);
    worker.on('message', (m: ToMain) => this.onMessage(slot, m));
    worker.on('error', () => { /* 'exit' follows; handled there */ });
    worker.on('exit', (code) => this.onExit(slot, code));
    this.dispatch();
  }

  private onMessage(slot: Slot, m: ToMain): void {
    const run = slot.busy;
    if (!run || (m.type !== 'result' && m.type !== 'run-error') || m.id !== run.id) return;
    slot.busy = undefined;
    if (m.type === 'result') run.resolve({ probabilities: m.probabilities });
    else run.reject(new Error(m.message));
    this.dispatch();
  }

  private onExit(slot: Slot, code: number): void {
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    slot.busy?.reject(new Error(`inference worker exited (code ${code}) during a run`));
    slot.busy = undefined;
    if (this.closed) return;
    this.opts.onWorkerExit?.({ code });
    startWorker(this.init).then(
      ({ worker }) => (this.closed ? void worker.terminate() : this.adopt(worker)),
      (e: Error) => {
        this.opts.onWorkerExit?.({ code, error: `replacement failed: ${e.message}` });
        if (this.slots.length === 0) for (const r of this.waiting.splice(0)) r.reject(new Error('no inference worker available'));
      },
    );
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.busy || this.waiting.length === 0) continue;
      const run = this.waiting.shift()!;
      slot.busy = run;
      // Copy, then transfer the copy: the caller keeps its buffer, no second copy is made.
      const input = new Float32Array(run.input);
      const msg: ToWorker = { type: 'run', id: run.id, input, n: run.n };
      slot.worker.postMessage(msg, [input.buffer]);
    }
  }

  get workerCount(): number { return this.slots.length; }

  run(input: Float32Array, n: number): Promise<RunResult> {
    if (this.closed) return Promise.reject(new Error('session is closed'));
    return new Promise((resolve, reject) => {
      this.waiting.push({ id: this.nextId++, input, n, resolve, reject });
      this.dispatch();
    });
  }

  /** Test hook and last resort: kill one worker as a crash would. */
  async crashOneWorkerForTest(): Promise<void> {
    await this.slots[0]?.worker.terminate();
  }

  async dispose(): Promise<void> {
    this.closed = true;
    for (const r of this.waiting.splice(0)) r.reject(new Error('session is closed'));
    await Promise.all(this.slots.map(async (s) => {
      const exited = new Promise((res) => s.worker.once('exit', res));
      s.worker.postMessage({ type: 'close' } satisfies ToWorker);
      const timer = setTimeout(() => void s.worker.terminate(), 2000);
      await exited;
      clearTimeout(timer);
    }));
  }
}
