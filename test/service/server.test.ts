// src/server.ts as a real process: start-up config errors, and the SIGTERM drain (queued and
// in-flight requests finish, readiness drops, the process exits 0).
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tinyModelFile } from './helpers/app.js';
import { renderDigit } from './helpers/images.js';
import { loadMnistTest, mnistDigit } from './helpers/mnist.js';
import { until } from './helpers/sessions.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface Child { proc: ChildProcess; stdout: string[]; stderr: string[]; exited: Promise<number | null> }

function startServer(env: Record<string, string>): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const child: Child = { proc, stdout: [], stderr: [], exited: new Promise((r) => proc.on('exit', (code) => r(code))) };
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => child.stdout.push(...d.split('\n').filter(Boolean)));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => child.stderr.push(d));
  return child;
}

function logLines(c: Child): Array<Record<string, unknown>> {
  return c.stdout.flatMap((l) => { try { return [JSON.parse(l) as Record<string, unknown>]; } catch { return []; } });
}

t.test('an invalid variable stops start-up naming it', async (t) => {
  const c = startServer({ BATCH_MAX_SIZE: 'lots' });
  t.equal(await c.exited, 1);
  t.match(c.stderr.join(''), /BATCH_MAX_SIZE/);
});

t.test('a missing or non-ONNX model stops start-up with exit 1, one line naming MODEL_PATH, before listening', async (t) => {
  const dir = t.testdir();
  const notOnnx = join(dir, 'digits.onnx');
  writeFileSync(notOnnx, 'this is a README, not a model\n');
  const empty = join(dir, 'empty.onnx');
  writeFileSync(empty, ''); // decodes as an empty ModelProto: no graph
  const cases: Array<[string, RegExp]> = [
    [`/nonexistent/digits-${process.pid}.onnx`, /no such file/],
    [root, /not a regular file/],
    [notOnnx, /not an ONNX model|no graph/],
    [empty, /no graph/],
  ];
  for (const [path, why] of cases) {
    const c = startServer({ MODEL_PATH: path });
    t.equal(await c.exited, 1);
    const err = c.stderr.join('');
    t.match(err, new RegExp(`^onnx-digits: MODEL_PATH=${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `), 'names MODEL_PATH');
    t.match(err, why);
    t.equal(err.trim().split('\n').length, 1, 'one line, no stack');
    t.notOk(logLines(c).some((l) => /listening/i.test(String(l.msg))), 'never listened');
  }
});

t.test('SIGTERM: readiness drops, queued requests finish, exit 0', async (t) => {
  const c = startServer({
    MODEL_PATH: tinyModelFile(),
    EXECUTION_PROVIDERS: 'cuda,cpu',
    BATCH_MAX_SIZE: '64',
    BATCH_MAX_DELAY_MS: '5000', // queued images wait for company; only the drain sends them early
    REQUEST_TIMEOUT_MS: '60000',
    DRAIN_TIMEOUT_MS: '30000',
  });
  t.teardown(() => { if (c.proc.exitCode === null) c.proc.kill('SIGKILL'); });
  await until(() => logLines(c).some((l) => /listening/i.test(String(l.msg))), 'the server to listen');
  const address = String(logLines(c).find((l) => /listening/i.test(String(l.msg)))!.msg).match(/http:\/\/[\d.]+:\d+/)![0];
  let ready = false;
  await until(() => { void fetch(`${address}/readyz`).then((r) => { ready = r.ok; }, () => undefined); return ready; }, 'readiness');
  t.ok(logLines(c).some((l) => l.level === 40 && l.provider === 'cuda'), 'a warning says why cuda was not used');

  const png = await renderDigit(mnistDigit(loadMnistTest(5), 1), 'big-offcentre');
  // An upload still arriving tells the batcher more images are on their way, so the three
  // requests below queue and wait for company (BATCH_MAX_DELAY_MS is long) until the drain.
  const port = Number(new URL(address).port);
  const uploading = connect(port, '127.0.0.1');
  uploading.on('error', () => undefined);
  uploading.write(`POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: ${png.length}\r\n\r\n`);
  uploading.write(png.subarray(0, 16));
  t.teardown(() => uploading.destroy());
  const inflight = Array.from({ length: 3 }, () => fetch(`${address}/predict`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: png }));
  let depth = 0;
  await until(() => {
    void fetch(`${address}/metrics`).then((r) => r.text()).then((m) => { depth = Number(/^inference_queue_depth (\d+)/m.exec(m)?.[1] ?? 0); }, () => undefined);
    return depth === 3;
  }, 'three images queued');

  c.proc.kill('SIGTERM');
  uploading.destroy(); // that client gives up; the queued requests must still be answered
  const answers = await Promise.all(inflight);
  t.same(answers.map((r) => r.status), [200, 200, 200], 'queued requests were answered');
  for (const r of answers) t.equal(((await r.json()) as { predictions: unknown[] }).predictions.length, 1);

  const late = await fetch(`${address}/predict`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: png }).then((r) => r.status, () => 'refused');
  t.ok(late === 503 || late === 'refused', `a request after SIGTERM is refused (${late})`);

  t.equal(await c.exited, 0, 'exit code 0');
  const msgs = logLines(c).map((l) => String(l.msg));
  t.ok(msgs.includes('shutting down: draining'));
  t.ok(msgs.includes('drained; bye'));
  const completed = logLines(c).filter((l) => l.msg === 'request completed' && l.route === '/predict');
  t.equal(completed.length, 3 + (late === 503 ? 1 : 0), 'one log line per request');
  t.ok(completed.every((l) => typeof l.reqId === 'string' && typeof l.responseTimeMs === 'number' && l.images === 1), 'with request id, latency and image count');
});
