// `npm run bench:load` runs end to end on its short setting (--quick): starts its own servers,
// runs every scenario, measures raw onnxruntime, writes JSON + markdown. A benchmark, not a
// timed test: nothing here asserts a speed; only that each part ran and reported.
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadReport } from '../../bench/lib/report.js';
import { tinyModelFile } from '../service/helpers/app.js';
import { ROOT } from './helpers/repo.js';

t.test('bench:load --quick runs every scenario and writes load.json + load.md', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'onnx-digits-bench-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const [node, ...args] = pkg.scripts['bench:load'].split(' ');
  t.equal(node, 'node', 'the npm script runs node');
  // A small queue so that a modest number of overload connections really overloads it.
  const env = { ...process.env, QUEUE_MAX: '32', BATCH_MAX_SIZE: '8' };
  const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [...args, '--quick', '--model', tinyModelFile(), '--out', out, '--overload-connections', '64'],
      { cwd: ROOT, env, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }));
  });
  t.equal(run.code, 0, `exit 0 (stderr: ${run.stderr.slice(-3000)})`);

  const rep = JSON.parse(readFileSync(join(out, 'load.json'), 'utf8')) as LoadReport;
  const md = readFileSync(join(out, 'load.md'), 'utf8');
  const names = ['png c=1', 'png c=16', 'png c=64', 'multipart 16 img c=16', 'json base64 c=16'];
  for (const server of ['batched', 'unbatched'] as const) {
    for (const name of names) {
      const row = rep.scenarios.find((r) => r.server === server && r.name === name);
      t.ok(row && row.requests > 0 && (row.status['200'] ?? 0) > 0, `${server} ${name}: answered requests`);
      t.ok(row?.batch && row.batch.batches > 0, `${server} ${name}: batch sizes read from /metrics`);
      t.match(md, `| ${server} | ${name} |`, `${server} ${name}: in the markdown table`);
    }
  }
  const unbatched = rep.scenarios.filter((r) => r.server === 'unbatched');
  t.ok(unbatched.every((r) => r.batch?.meanSize === 1), 'BATCH_MAX_SIZE=1 server ran one image per batch');
  t.ok(rep.speedup && rep.speedup.ratio > 0, 'batching speed-up reported');
  t.ok(rep.raw.length > 0 && rep.raw.every((r) => r.imagesPerS > 0 && r.runs > 0), 'raw onnxruntime measured');
  t.equal(rep.endToEndVsRaw.length, names.length, 'end-to-end ÷ raw for every batched scenario');
  t.ok(rep.overload.scenario.requests > 0 && rep.overload.scenario.connections === 64, 'overload scenario ran at 64 connections');
  t.ok((rep.overload.rssPeakMiB ?? 0) > 0, 'peak RSS of the server process reported');
  t.equal(rep.shutdown.length, 2, 'both servers were stopped');
  t.equal(rep.meta.config.QUEUE_MAX, 32, 'the harness environment reached the server config');
  t.ok(rep.targets.length >= 8, 'targets listed');
  t.match(run.stdout, /\| target \| wanted \| measured \| met \|/, 'the table is printed');
});
