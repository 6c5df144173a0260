// One load scenario: autocannon (programmatic) against a running server for a fixed time, with
// every response's status and latency recorded here as well, so non-2xx answers (503s under
// overload) get their own latency figures — autocannon's own histogram holds 2xx only.
import autocannon from 'autocannon';
import type { Body } from './payloads.js';

/** Where every scenario posts (src/routes/predict.ts). */
export const PREDICT_PATH = '/predict';

export interface ScenarioSpec {
  name: string;
  path: string; // e.g. /predict
  bodies: Body[]; // cycled through, one per request
  connections: number;
  durationS: number;
  /** Per-request client timeout; a request without an answer by then counts as a timeout. */
  timeoutS?: number;
}

export interface LatencySummary { count: number; p50: number; p90: number; p99: number; max: number }

export interface ScenarioResult {
  name: string;
  connections: number;
  imagesPerRequest: number;
  durationS: number;
  requests: number; // responses received, any status
  reqPerS: number; // responses per second, any status
  okPerS: number; // 2xx per second
  imagesPerS: number; // images answered with 2xx, per second
  latencyMs: LatencySummary; // 2xx responses
  status: Record<string, number>; // by status code
  non2xx: number;
  non2xxLatencyMs?: LatencySummary;
  errors: number; // connection errors, including timeouts
  timeouts: number;
  resets: number;
}

export function summarise(values: number[]): LatencySummary {
  if (values.length === 0) return { count: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  const s = Float64Array.from(values).sort();
  const q = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  return { count: s.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: s[s.length - 1] };
}

export async function runScenario(baseUrl: string, spec: ScenarioSpec): Promise<ScenarioResult> {
  const images = spec.bodies[0]?.images ?? 0;
  if (spec.bodies.some((b) => b.images !== images)) throw new Error(`${spec.name}: all bodies must carry the same number of images`);
  const ok: number[] = [];
  const bad: number[] = [];
  const options: autocannon.Options = {
    url: baseUrl,
    connections: spec.connections,
    duration: spec.durationS,
    timeout: spec.timeoutS ?? 10,
    // Each connection cycles through these requests, so the server sees many different images.
    requests: spec.bodies.map((b) => ({
      method: 'POST' as const,
      path: spec.path,
      headers: { 'content-type': b.contentType },
      body: b.body,
    })),
  };
  let instance!: autocannon.Instance;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(options, (err: unknown, result: autocannon.Result) =>
      err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(result));
  });
  // NOTE: autocannon 9 emits 'response' as (client, statusCode, bytes, responseTimeMs); its
  // published types omit the client argument.
  const onResponse = (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    (statusCode >= 200 && statusCode < 300 ? ok : bad).push(responseTime);
  };
  (instance as unknown as NodeJS.EventEmitter).on('response', onResponse);
  const r = await done;
  const status: Record<string, number> = {};
  for (const [code, v] of Object.entries(r.statusCodeStats ?? {})) status[code] = (v as { count: number }).count;
  const requests = ok.length + bad.length;
  const seconds = r.duration;
  return {
    name: spec.name,
    connections: spec.connections,
    imagesPerRequest: images,
    durationS: seconds,
    requests,
    reqPerS: requests / seconds,
    okPerS: ok.length / seconds,
    imagesPerS: (ok.length * images) / seconds,
    latencyMs: summarise(ok),
    status,
    non2xx: r.non2xx,
    non2xxLatencyMs: bad.length > 0 ? summarise(bad) : undefined,
    errors: r.errors,
    timeouts: r.timeouts,
    resets: r.resets,
  };
}
