// The service under test as a child process, started exactly as `npm start` starts it (node
// --import tsx src/server.ts) on a loopback port, configured by environment variables only.
// Tracks the process's resident memory from /proc (Linux) so the report can show peak RSS.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface ServerHandle {
  url: string;
  pid: number;
  env: Record<string, string>;
  /** Highest RSS seen by sampling, and the kernel's own high-water mark (VmHWM), in bytes. */
  memory(): { rssNow?: number; rssPeakSampled?: number; vmHwm?: number };
  /** CPU seconds the server process has used so far (all threads: HTTP loop, workers, libuv pool). */
  cpuSeconds(): number | undefined;
  /** Reset the sampled peak (e.g. before the overload scenario). */
  resetSampledPeak(): void;
  metrics(): Promise<string>;
  /** SIGTERM, wait for exit; resolves with the exit code and how long the drain took. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  logTail(): string;
}

// /proc/<pid>/stat fields 14 and 15 (utime, stime) in clock ticks; USER_HZ is 100 on Linux.
function procCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function procStatusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined; // not Linux, or the process is gone
  }
}

export interface StartOptions {
  root: string;
  env: Record<string, string>;
  readyTimeoutMs?: number;
  sampleEveryMs?: number;
}

export async function startServer(opts: StartOptions): Promise<ServerHandle> {
  const port = await freeLoopbackPort();
  const env: Record<string, string> = { HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...opts.env, PORT: String(port) };
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(opts.root, 'src/server.ts')], {
    cwd: opts.root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: string[] = [];
  const keep = (chunk: Buffer) => {
    log.push(chunk.toString());
    if (log.length > 200) log.splice(0, log.length - 200);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.once('exit', (code, signal) => res({ code, signal })),
  );
  let alive = true;
  void exited.then(() => { alive = false; });

  const pid = child.pid!;
  let peak = 0;
  const sampler = setInterval(() => {
    const rss = procStatusBytes(pid, 'VmRSS');
    if (rss !== undefined && rss > peak) peak = rss;
  }, opts.sampleEveryMs ?? 100);
  sampler.unref();

  const url = `http://127.0.0.1:${port}`;
  const handle: ServerHandle = {
    url,
    pid,
    env,
    memory: () => ({ rssNow: procStatusBytes(pid, 'VmRSS'), rssPeakSampled: peak || undefined, vmHwm: procStatusBytes(pid, 'VmHWM') }),
    cpuSeconds: () => procCpuSeconds(pid),
    resetSampledPeak: () => { peak = 0; },
    metrics: async () => {
      const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
      if (!res.ok) throw new Error(`GET /metrics answered ${res.status}`);
      return res.text();
    },
    stop: async () => {
      const t0 = performance.now();
      if (alive) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const r = await exited;
      clearTimeout(killer);
      clearInterval(sampler);
      return { ...r, ms: performance.now() - t0 };
    },
    logTail: () => log.join('').split('\n').slice(-40).join('\n'),
  };

  // Ready = /readyz answers 200 (model loaded and warmed up).
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 120_000);
  for (;;) {
    if (!alive) throw new Error(`server exited before it was ready:\n${handle.logTail()}`);
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await handle.stop();
      throw new Error(`server not ready after ${opts.readyTimeoutMs ?? 120_000} ms:\n${handle.logTail()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return handle;
}
