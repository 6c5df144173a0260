// The harness's results as a terminal/markdown table and JSON, written atomically (temp + rename)
// to bench/results/ so the README's Performance section can be pasted from a real run.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RawResult } from './raw-ort.js';
import type { ScenarioResult } from './scenario.js';

export interface BatchStats { batches: number; meanSize: number; p50Bound: number; p99Bound: number }
export interface ScenarioRow extends ScenarioResult {
  server: 'batched' | 'unbatched';
  batch?: BatchStats;
  /** CPU used during the scenario, in cores (1 = one core busy throughout). */
  cpu?: { server?: number; loadGenerator: number };
}
export interface Target { name: string; target: string; value: string; pass: boolean }

export interface LoadReport {
  meta: {
    date: string;
    command: string;
    machine: { cpu: string; cores: number; memoryGiB: number; os: string };
    node: string;
    onnxruntime: string;
    commit?: string;
    model: { path: string; sha256: string; name?: string; version?: string };
    durationS: number;
    config: Record<string, unknown>;
  };
  scenarios: ScenarioRow[];
  speedup?: { scenario: string; batchedImagesPerS: number; unbatchedImagesPerS: number; ratio: number };
  raw: RawResult[];
  endToEndVsRaw: Array<{ scenario: string; batchSize: number; endToEndImagesPerS: number; rawImagesPerS: number; ratio: number }>;
  overload: {
    scenario: ScenarioRow;
    rssBeforeMiB?: number;
    rssPeakMiB?: number;
    vmHwmMiB?: number;
    memoryLimitMiB: number;
  };
  shutdown: Array<{ server: string; code: number | null; signal: string | null; ms: number }>;
  targets: Target[];
}

const f0 = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–');
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–');
const mib = (b: number | undefined) => (b === undefined ? undefined : b / 1024 ** 2);

export { mib };

function statusText(r: ScenarioResult): string {
  const other = Object.entries(r.status).filter(([c]) => !c.startsWith('2'));
  const parts = other.map(([c, n]) => `${n}×${c}`);
  if (r.timeouts) parts.push(`${r.timeouts} timeouts`);
  if (r.errors - r.timeouts > 0) parts.push(`${r.errors - r.timeouts} conn errors`);
  return parts.length ? parts.join(', ') : '0';
}

export function scenarioTable(rows: ScenarioRow[]): string {
  const head = '| server | scenario | conns | img/req | req/s | images/s | p50 ms | p90 ms | p99 ms | non-2xx / errors | mean batch | CPU server / autocannon |';
  const sep = '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |';
  const lines = rows.map((r) =>
    `| ${r.server} | ${r.name} | ${r.connections} | ${r.imagesPerRequest} | ${f0(r.reqPerS)} | ${f0(r.imagesPerS)} | ` +
    `${f1(r.latencyMs.p50)} | ${f1(r.latencyMs.p90)} | ${f1(r.latencyMs.p99)} | ${statusText(r)} | ${r.batch ? f1(r.batch.meanSize) : '–'} | ` +
    `${r.cpu ? `${f2(r.cpu.server ?? NaN)} / ${f2(r.cpu.loadGenerator)}` : '–'} |`);
  return [head, sep, ...lines].join('\n');
}

export function markdown(rep: LoadReport): string {
  const m = rep.meta;
  const o = rep.overload;
  const ov = o.scenario;
  const s503 = ov.status['503'] ?? 0;
  const out: string[] = [];
  out.push(`Measured ${m.date} on ${m.machine.cpu} (${m.machine.cores} cores, ${f0(m.machine.memoryGiB)} GiB), ${m.machine.os}, ` +
    `Node ${m.node}, onnxruntime-node ${m.onnxruntime}; model ${m.model.name ?? m.model.path} ${m.model.version ?? ''} ` +
    `(sha256 ${m.model.sha256.slice(0, 12)}…)${m.commit ? `, commit ${m.commit.slice(0, 10)}` : ''}. ` +
    `${m.durationS} s per scenario; load generator (autocannon) on the same machine. Command: \`${m.command}\`.`);
  out.push('');
  out.push(scenarioTable([...rep.scenarios, o.scenario]));
  out.push('');
  if (rep.speedup) {
    out.push(`- **Batching speed-up** (${rep.speedup.scenario}): ${f0(rep.speedup.batchedImagesPerS)} vs ` +
      `${f0(rep.speedup.unbatchedImagesPerS)} images/s with \`BATCH_MAX_SIZE=1\` = **${f2(rep.speedup.ratio)}×**.`);
  }
  for (const e of rep.endToEndVsRaw) {
    out.push(`- **End-to-end ÷ raw ORT** (${e.scenario}, batch ≈ ${e.batchSize}): ${f0(e.endToEndImagesPerS)} ÷ ` +
      `${f0(e.rawImagesPerS)} images/s = **${f0(e.ratio * 100)} %**.`);
  }
  out.push(`- **Raw ORT in-process** (images/s by batch size): ${rep.raw.map((r) => `${r.batchSize}: ${f0(r.imagesPerS)} (${f2(r.msPerRun)} ms/run)`).join(', ')}.`);
  out.push(`- **Overload** (${ov.connections} connections, ${ov.durationS} s): ${f0(ov.okPerS)} ok/s, ${s503} × 503 ` +
    `(p50 ${f1(ov.non2xxLatencyMs?.p50 ?? NaN)} ms, p99 ${f1(ov.non2xxLatencyMs?.p99 ?? NaN)} ms, max ${f1(ov.non2xxLatencyMs?.max ?? NaN)} ms), ` +
    `other non-2xx: ${ov.non2xx - s503}, timeouts: ${ov.timeouts}, connection errors: ${ov.errors - ov.timeouts}; ` +
    `server RSS ${f0(o.rssBeforeMiB ?? NaN)} MiB before, peak ${f0(o.rssPeakMiB ?? NaN)} MiB during (VmHWM ${f0(o.vmHwmMiB ?? NaN)} MiB).`);
  out.push(`- **Shutdown** (SIGTERM → exit): ${rep.shutdown.map((s) => `${s.server} ${f0(s.ms)} ms, code ${s.code}`).join('; ')}.`);
  out.push('');
  out.push('| target | wanted | measured | met |');
  out.push('| --- | --- | --- | --- |');
  for (const t of rep.targets) out.push(`| ${t.name} | ${t.target} | ${t.value} | ${t.pass ? 'yes' : '**no**'} |`);
  return out.join('\n') + '\n';
}

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export function writeReport(dir: string, rep: LoadReport): { json: string; md: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, 'load.json');
  const md = join(dir, 'load.md');
  writeAtomic(json, JSON.stringify(rep, null, 2) + '\n');
  writeAtomic(md, markdown(rep));
  return { json, md };
}
