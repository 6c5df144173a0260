// Bounds concurrent work (image decodes: sharp shares libuv's small thread pool, so unbounded
// decodes would starve everything else). Waiters leave the line when their request aborts.
export class Semaphore {
  private active = 0;
  private waiters: Array<{ grant: () => void }> = [];

  constructor(private readonly limit: number) {}

  get pending(): number { return this.waiters.length; }
  get running(): number { return this.active; }

  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) throw signal.reason;
    if (this.active < this.limit) {
      this.active++;
      return this.releaser();
    }
    await new Promise<void>((resolve, reject) => {
      const waiter = { grant: () => { signal?.removeEventListener('abort', onAbort); resolve(); } };
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
    return this.releaser();
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
