// Load-test harness: `npm run bench:load [-- --quick]`. Starts the service itself on loopback
// (as `npm start` does), drives it with autocannon, and reports req/s, images/s, latency
// percentiles and non-2xx counts per scenario; then the same scenarios against a second server
// with BATCH_MAX_SIZE=1 (batching speed-up), raw in-process onnxruntime throughput at the batch
// sizes the batcher formed (end-to-end ÷ raw), and an overload run (fast 503s, bounded memory).
// Results: printed, and written to bench/results/load.{json,md}. Bounded: every scenario runs a
// fixed time, servers are stopped at the end, nothing listens beyond loopback.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, platform, release, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../src/config.js';
import { describeModel } from '../src/inference/model-file.js';
import { BATCH_SIZE_METRIC, diffHistogram, histogramMean, histogramQuantileBound, readHistogram, type Histogram } from './lib/prom.js';
import { digitPngs, jsonBody, loadDigits, multipartBody, pngBody, type Body } from './lib/payloads.js';
import { measureRaw } from './lib/raw-ort.js';
import { markdown, mib, scenarioTable, writeReport, type BatchStats, type LoadReport, type ScenarioRow, type Target } from './lib/report.js';
import { PREDICT_PATH, runScenario, type ScenarioSpec } from './lib/scenario.js';
import { startServer, type ServerHandle } from './lib/server-process.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MEMORY_LIMIT_MIB = 1024; // the container limit in docker/docker-compose.yml and docker/k8s/deployment.yaml
const FAST_503_P99_MS = 100;

const positive = (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
};

const program = new Command('bench:load')
  .description('Load-test the onnx-digits service on loopback (autocannon) and report throughput and latency.')
  .option('--quick', 'short setting for smoke tests: 1 s per scenario, 2 s overload', false)
  .option('--duration <s>', 'seconds per scenario (default 10, or env BENCH_DURATION)', positive)
  .option('--overload-connections <n>', 'connections in the overload scenario (default: 1024, or 2 × QUEUE_MAX if larger)', positive)
  .option('--model <path>', 'ONNX model to serve', join(ROOT, 'models/digits.onnx'))
  .option('--out <dir>', 'where load.json and load.md go', join(ROOT, 'bench/results'))
  .option('--strict', 'exit 1 when a target is missed', false);

interface Opts { quick: boolean; duration?: number; overloadConnections?: number; model: string; out: string; strict: boolean }

async function main(): Promise<void> {
  const opts = program.parse().opts<Opts>();
  const envDuration = process.env.BENCH_DURATION ? positive(process.env.BENCH_DURATION) : undefined;
  const durationS = opts.duration ?? envDuration ?? (opts.quick ? 1 : 10);
  const overloadS = opts.quick ? 2 : durationS;
  const warmS = Math.min(2, durationS);
  const rawS = opts.quick ? 0.3 : Math.min(3, durationS);
  const modelPath = resolve(opts.model);
  if (!existsSync(modelPath)) {
    throw new Error(`model ${modelPath} not found: train and export it first (see training/), or pass --model PATH`);
  }
  const modelBytes = new Uint8Array(readFileSync(modelPath));
  const model = describeModel(modelBytes);

  // Payloads: 256 different MNIST test digits as PNGs, 16-image multipart and JSON bodies.
  const digits = loadDigits(256);
  const pngs = await digitPngs(digits);
  const single = pngs.map(pngBody);
  const multi: Body[] = Array.from({ length: 16 }, (_, k) => multipartBody(pngs.slice(k * 16, k * 16 + 16)));
  const json = pngs.slice(0, 64).map((p) => jsonBody([p]));

  const scenarios = (connections: Record<string, number>): Array<Omit<ScenarioSpec, 'durationS'>> => [
    { name: 'png c=1', path: PREDICT_PATH, bodies: single, connections: connections.c1 },
    { name: 'png c=16', path: PREDICT_PATH, bodies: single, connections: connections.c16 },
    { name: 'png c=64', path: PREDICT_PATH, bodies: single, connections: connections.c64 },
    { name: 'multipart 16 img c=16', path: PREDICT_PATH, bodies: multi, connections: connections.c16 },
    { name: 'json base64 c=16', path: PREDICT_PATH, bodies: json, connections: connections.c16 },
  ];
  const normal = scenarios({ c1: 1, c16: 16, c64: 64 });

  const serverEnv = (extra: Record<string, string>): Record<string, string> => {
    const env: Record<string, string> = { MODEL_PATH: modelPath, LOG_LEVEL: 'warn', ...extra };
    return env;
  };
  // The harness's own environment passes through (BATCH_MAX_DELAY_MS=2 npm run bench:load ...),
  // except API_KEY: the load generator sends no credentials.
  delete process.env.API_KEY;
  const config = loadConfig({ ...process.env, ...serverEnv({}) });

  const log = (s: string) => process.stderr.write(`${s}\n`);
  const rows: ScenarioRow[] = [];
  const shutdown: LoadReport['shutdown'] = [];

  async function batchHistogram(server: ServerHandle): Promise<Histogram | undefined> {
    return readHistogram(await server.metrics(), BATCH_SIZE_METRIC);
  }

  async function runOn(server: ServerHandle, label: ScenarioRow['server'], spec: Omit<ScenarioSpec, 'durationS'>, seconds: number): Promise<ScenarioRow> {
    const before = await batchHistogram(server);
    const cpu0 = { server: server.cpuSeconds(), gen: process.cpuUsage(), at: performance.now() };
    const r = await runScenario(server.url, { ...spec, durationS: seconds, timeoutS: Math.max(15, config.REQUEST_TIMEOUT_MS / 1000 + 5) });
    const wall = (performance.now() - cpu0.at) / 1000;
    const serverCpu = server.cpuSeconds();
    const gen = process.cpuUsage(cpu0.gen);
    const cpu = {
      server: serverCpu !== undefined && cpu0.server !== undefined ? (serverCpu - cpu0.server) / wall : undefined,
      loadGenerator: (gen.user + gen.system) / 1e6 / wall,
    };
    const after = await batchHistogram(server);
    let batch: BatchStats | undefined;
    if (after) {
      const h = diffHistogram(after, before);
      batch = { batches: h.count, meanSize: histogramMean(h), p50Bound: histogramQuantileBound(h, 0.5), p99Bound: histogramQuantileBound(h, 0.99) };
    }
    const row: ScenarioRow = { ...r, server: label, batch, cpu };
    log(`  ${label.padEnd(9)} ${spec.name.padEnd(22)} ${Math.round(r.reqPerS)} req/s, ${Math.round(r.imagesPerS)} images/s, ` +
      `p99 ${r.latencyMs.p99.toFixed(1)} ms, non-2xx ${r.non2xx}, errors ${r.errors}, mean batch ${batch ? batch.meanSize.toFixed(1) : '?'}`);
    return row;
  }

  async function withServer<T>(label: string, extra: Record<string, string>, fn: (s: ServerHandle) => Promise<T>): Promise<T> {
    log(`starting server (${label}) ...`);
    const server = await startServer({ root: ROOT, env: serverEnv(extra) });
    try {
      await runScenario(server.url, { name: 'warm-up', path: PREDICT_PATH, bodies: single, connections: 16, durationS: warmS });
      return await fn(server);
    } finally {
      const s = await server.stop();
      shutdown.push({ server: label, code: s.code, signal: s.signal, ms: s.ms });
    }
  }

  // 1. The service as configured (batching on), then overload against the same process.
  let overload!: LoadReport['overload'];
  // Overload needs more images in flight than the queue holds (QUEUE_MAX counts images waiting
  // or being decoded); with one image per request and closed-loop clients that means more
  // connections than QUEUE_MAX, else every request is simply queued and nothing is shed.
  const overloadConnections = opts.overloadConnections ?? Math.max(1024, 2 * config.QUEUE_MAX);
  if (overloadConnections <= config.QUEUE_MAX) {
    log(`overload: ${overloadConnections} connections <= QUEUE_MAX=${config.QUEUE_MAX}: every request fits in the queue, expect no 503s`);
  } else if (opts.overloadConnections === undefined && overloadConnections !== 1024) {
    log(`overload: ${overloadConnections} connections (2 × QUEUE_MAX=${config.QUEUE_MAX}) so that the queue can fill`);
  }
  await withServer('batched', {}, async (server) => {
    for (const spec of normal) rows.push(await runOn(server, 'batched', spec, durationS));
    const before = server.memory();
    server.resetSampledPeak();
    const ov = await runOn(server, 'batched', {
      name: `overload png c=${overloadConnections}`, path: PREDICT_PATH, bodies: single, connections: overloadConnections,
    }, overloadS);
    const after = server.memory();
    overload = {
      scenario: ov,
      rssBeforeMiB: mib(before.rssNow),
      rssPeakMiB: mib(after.rssPeakSampled),
      vmHwmMiB: mib(after.vmHwm),
      memoryLimitMiB: MEMORY_LIMIT_MIB,
    };
  });

  // 2. The same scenarios with batching off.
  await withServer('unbatched', { BATCH_MAX_SIZE: '1' }, async (server) => {
    for (const spec of normal) rows.push(await runOn(server, 'unbatched', spec, durationS));
  });

  // 3. Raw onnxruntime at the batch sizes the batcher formed (servers are stopped: CPUs are free).
  const batched = rows.filter((r) => r.server === 'batched');
  const sizes = [1, ...batched.map((r) => Math.max(1, Math.round(r.batch?.meanSize ?? 1)))];
  log(`raw onnxruntime at batch sizes ${[...new Set(sizes)].join(', ')} ...`);
  const raw = await measureRaw(digits, sizes, {
    modelPath, providers: config.EXECUTION_PROVIDERS, intraOpThreads: config.ORT_INTRA_OP_THREADS, workers: config.INFERENCE_WORKERS, seconds: rawS,
  });
  const rawAt = (b: number) => raw.find((r) => r.batchSize === Math.max(1, Math.round(b)))!;
  const endToEndVsRaw = batched.map((r) => {
    const b = Math.max(1, Math.round(r.batch?.meanSize ?? 1));
    return { scenario: r.name, batchSize: b, endToEndImagesPerS: r.imagesPerS, rawImagesPerS: rawAt(b).imagesPerS, ratio: r.imagesPerS / rawAt(b).imagesPerS };
  });

  const find = (server: string, name: string) => rows.find((r) => r.server === server && r.name === name);
  const b64 = find('batched', 'png c=64');
  const u64 = find('unbatched', 'png c=64');
  const speedup = b64 && u64 ? { scenario: 'png c=64', batchedImagesPerS: b64.imagesPerS, unbatchedImagesPerS: u64.imagesPerS, ratio: b64.imagesPerS / u64.imagesPerS } : undefined;
  const e64 = endToEndVsRaw.find((e) => e.scenario === 'png c=64');

  const ov = overload.scenario;
  const n503 = ov.status['503'] ?? 0;
  const failures = rows.reduce((n, r) => n + r.non2xx + r.errors, 0);
  const targets: Target[] = [
    { name: 'batching speed-up, png c=64', target: '≥ 2×', value: speedup ? `${speedup.ratio.toFixed(2)}×` : 'n/a', pass: (speedup?.ratio ?? 0) >= 2 },
    { name: 'end-to-end ÷ raw ORT, png c=64', target: '≥ 60 %', value: e64 ? `${Math.round(e64.ratio * 100)} %` : 'n/a', pass: (e64?.ratio ?? 0) >= 0.6 },
    { name: 'p99 latency, png c=64 (batched)', target: '≤ 50 ms', value: b64 ? `${b64.latencyMs.p99.toFixed(1)} ms` : 'n/a', pass: (b64?.latencyMs.p99 ?? Infinity) <= 50 },
    { name: 'errors in the normal scenarios', target: '0', value: String(failures), pass: failures === 0 },
    { name: 'overload: non-2xx are all 503', target: `${ov.non2xx} of ${ov.non2xx}`, value: `${n503} of ${ov.non2xx}`, pass: n503 === ov.non2xx },
    { name: 'overload: timeouts + connection errors', target: '0', value: String(ov.errors), pass: ov.errors === 0 },
    { name: 'overload: 503 latency p99', target: `≤ ${FAST_503_P99_MS} ms`, value: ov.non2xxLatencyMs ? `${ov.non2xxLatencyMs.p99.toFixed(1)} ms` : 'no 503s',
      pass: (ov.non2xxLatencyMs?.p99 ?? Infinity) <= FAST_503_P99_MS },
    { name: 'overload: peak server RSS', target: `≤ ${MEMORY_LIMIT_MIB} MiB`, value: overload.rssPeakMiB ? `${Math.round(overload.rssPeakMiB)} MiB` : 'n/a',
      pass: (overload.rssPeakMiB ?? Infinity) <= MEMORY_LIMIT_MIB },
    { name: 'graceful shutdown (SIGTERM)', target: 'exit 0', value: shutdown.map((s) => String(s.code)).join(', '), pass: shutdown.every((s) => s.code === 0) },
  ];

  let commit: string | undefined;
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch { /* not a git checkout */ }
  const report: LoadReport = {
    meta: {
      date: new Date().toISOString(),
      command: `npm run bench:load${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
      machine: { cpu: cpus()[0]?.model.trim() ?? 'unknown', cores: cpus().length, memoryGiB: totalmem() / 1024 ** 3, os: `${platform()} ${release()}` },
      node: process.versions.node,
      onnxruntime: (JSON.parse(readFileSync(join(ROOT, 'node_modules/onnxruntime-node/package.json'), 'utf8')) as { version: string }).version,
      commit,
      model: { path: relative(ROOT, modelPath) || modelPath, sha256: model.sha256, name: model.metadata.name, version: model.metadata.version },
      durationS,
      config: { ...config, API_KEY: undefined },
    },
    scenarios: rows,
    speedup,
    raw,
    endToEndVsRaw,
    overload,
    shutdown,
    targets,
  };
  const files = writeReport(resolve(opts.out), report);
  process.stdout.write(`\n${scenarioTable([...rows, ov])}\n\n${markdown(report).split('\n\n').slice(2).join('\n\n')}\n`);
  log(`wrote ${files.json} and ${files.md}`);
  if (opts.strict && targets.some((t) => !t.pass)) process.exitCode = 1;
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:load failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
