// Quick probe (development aid, not the harness): one server, chosen scenarios, printed figures.
// `node --import tsx bench/probe.ts c=64:3 c=1:3 ov=2048:3` with server env from the environment.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { digitPngs, loadDigits, pngBody } from './lib/payloads.js';
import { PREDICT_PATH, runScenario } from './lib/scenario.js';
import { startServer } from './lib/server-process.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const env: Record<string, string> = { MODEL_PATH: join(ROOT, 'models/digits.onnx'), LOG_LEVEL: 'warn' };
for (const k of Object.keys(process.env)) if (/^(BATCH_|QUEUE_|INFERENCE_|PREPROCESS_|REQUEST_|ORT_|MAX_)/.test(k)) env[k] = process.env[k]!;
const single = (await digitPngs(loadDigits(256))).map(pngBody);
const server = await startServer({ root: ROOT, env });
try {
  await runScenario(server.url, { name: 'warm', path: PREDICT_PATH, bodies: single, connections: 16, durationS: 1 });
  for (const arg of process.argv.slice(2)) {
    const [c, s] = arg.replace(/^\w+=/, '').split(':').map(Number);
    const cpu0 = server.cpuSeconds() ?? 0;
    const r = await runScenario(server.url, { name: arg, path: PREDICT_PATH, bodies: single, connections: c, durationS: s, timeoutS: 15 });
    const cpu = ((server.cpuSeconds() ?? 0) - cpu0) / r.durationS;
    const bad = r.non2xxLatencyMs ? ` 503 p50/p99 ${r.non2xxLatencyMs.p50.toFixed(1)}/${r.non2xxLatencyMs.p99.toFixed(1)} ms` : '';
    console.log(`${arg}: ok ${Math.round(r.okPerS)}/s all ${Math.round(r.reqPerS)}/s p50 ${r.latencyMs.p50.toFixed(1)} p99 ${r.latencyMs.p99.toFixed(1)} ms, status ${JSON.stringify(r.status)}, errors ${r.errors} timeouts ${r.timeouts}${bad}, server cpu ${cpu.toFixed(2)}`);
  }
} finally {
  await server.stop();
}
