// Bounds concurrent work (image decodes: sharp shares libuv's small thread pool, so unbounded
// decodes would starve everything else). Waiters leave the line when their request aborts.
interface Waiter { grant: () => void; signal?: AbortSignal; reject: (reason: unknown) => void }

export class Semaphore {
  private active = 0;
  private waiters: Waiter[] = [];
  /**
   * One 'abort' listener per signal, however many of its waiters queue: a request with 16
   * images would otherwise put 16 listeners on its deadline signal (Node warns past 10:
   * MaxListenersExceededWarning), and the listeners themselves are the cost that warns of.
   */
  private readonly listening = new Map<AbortSignal, () => void>();

  constructor(private readonly limit: number) {}

  get pending(): number { return this.waiters.length; }
  get running(): number { return this.active; }
  /** Signals with a listener attached now (tests check it stays one per request). */
  get signalsWatched(): number { return this.listening.size; }

  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) throw signal.reason;
    if (this.active < this.limit) {
      this.active++;
      return this.releaser();
    }
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { signal, reject, grant: () => { this.unwatch(signal); resolve(); } };
      this.waiters.push(waiter);
      if (signal) this.watch(signal);
    });
    return this.releaser();
  }

  private watch(signal: AbortSignal): void {
    if (this.listening.has(signal)) return;
    const onAbort = () => {
      this.listening.delete(signal);
      const leaving = this.waiters.filter((w) => w.signal === signal);
      this.waiters = this.waiters.filter((w) => w.signal !== signal);
      for (const w of leaving) w.reject(signal.reason);
    };
    this.listening.set(signal, onAbort);
    signal.addEventListener('abort', onAbort, { once: true });
  }

  /** Drop the signal's listener once none of its waiters is left in line. */
  private unwatch(signal: AbortSignal | undefined): void {
    if (!signal || this.waiters.some((w) => w.signal === signal)) return;
    const onAbort = this.listening.get(signal);
    if (!onAbort) return;
    this.listening.delete(signal);
    signal.removeEventListener('abort', onAbort);
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next.grant(); // the slot passes straight to the next waiter
      else this.active--;
    };
  }

  async use<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
