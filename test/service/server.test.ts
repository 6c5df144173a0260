// src/server.ts as a real process: start-up config errors, and the SIGTERM drain (queued and
// in-flight requests finish, readiness drops, the process exits 0).
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
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

const { onnx } = onnxProto;
const shippedTiny = readFileSync(join(root, 'models/digits-tiny.onnx'));

/** models/digits-tiny.onnx decoded, edited, re-encoded. */
function editedTiny(edit: (m: onnxProto.onnx.ModelProto) => void): Uint8Array {
  const m = onnx.ModelProto.decode(shippedTiny);
  edit(m);
  return onnx.ModelProto.encode(m).finish();
}

/** Where ModelProto field 7 (the graph) ends in `bytes`: a file cut there has no opset_import. */
function endOfGraph(bytes: Uint8Array): number {
  let i = 0;
  const varint = () => { let v = 0; let s = 0; let b: number; do { b = bytes[i++]; v += (b & 0x7f) * 2 ** s; s += 7; } while (b & 0x80); return v; };
  while (i < bytes.length) {
    const key = varint();
    if ((key & 7) === 0) varint();
    else if ((key & 7) === 2) { const length = varint(); i += length; } // not `i += varint()`: that adds to the old i
    else throw new Error(`unexpected wire type ${key & 7}`);
    if (Math.floor(key / 8) === 7) return i;
  }
  throw new Error('no graph field');
}

const inputDims = (m: onnxProto.onnx.ModelProto) => m.graph!.input![0].type!.tensorType!.shape!.dim!;
const fixed = (...values: number[]) => values.map((v) => onnx.TensorShapeProto.Dimension.create({ dimValue: v }));

/** The shipped tiny net behind a [N,784] input: Reshape(pixels, reshapeTo), then the net as it is. */
function withFlatInput(reshapeTo: number[]): Uint8Array {
  return editedTiny((m) => {
    const g = m.graph!;
    g.input![0].name = 'pixels';
    g.input![0].type!.tensorType!.shape!.dim = [onnx.TensorShapeProto.Dimension.create({ dimParam: 'N' }), ...fixed(784)];
    g.initializer!.push(onnx.TensorProto.create({ name: 'to_image', dims: [4], dataType: onnx.TensorProto.DataType.INT64, int64Data: reshapeTo }));
    g.node!.unshift(onnx.NodeProto.create({ opType: 'Reshape', input: ['pixels', 'to_image'], output: ['input'], name: 'to_image' }));
  });
}

/** Spawn the server on `path`; resolves with what it said once it exits (killed if still up after 20 s). */
async function startUp(path: string): Promise<{ code: number | null; stderr: string; stdout: string[]; ms: number }> {
  const t0 = performance.now();
  const c = startServer({ MODEL_PATH: path });
  const kill = setTimeout(() => c.proc.kill('SIGKILL'), 20_000);
  const code = await c.exited;
  clearTimeout(kill);
  return { code, stderr: c.stderr.join(''), stdout: c.stdout, ms: performance.now() - t0 };
}

t.test('a model onnxruntime cannot open or run, or with the wrong input contract, stops start-up with one line before listening', async (t) => {
  const dir = t.testdir();
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['op renamed Conv→Cnov', editedTiny((m) => { m.graph!.node!.find((n) => n.opType === 'Conv')!.opType = 'Cnov'; }), /onnxruntime cannot load it: .*No Op registered for Cnov/],
    ['opset 999', editedTiny((m) => { m.opsetImport = [onnx.OperatorSetIdProto.create({ domain: '', version: 999 })]; }), /onnxruntime cannot load it: .*Opset 999/],
    ['cut right after the graph', shippedTiny.subarray(0, endOfGraph(shippedTiny)), /onnxruntime cannot load it: Missing opset/],
    ['input [N,1,14,56]', editedTiny((m) => { inputDims(m).splice(2, 2, ...fixed(14, 56)); }), /input "input" must be float32 \[N,1,28,28\] or \[N,784\], is float32 \[N,1,14,56\]/],
    ['input [1,1,28,28]', editedTiny((m) => { inputDims(m).splice(0, 1, ...fixed(1)); }), /input "input" has a fixed batch size of 1 \(\[1,1,28,28\]\).*dynamic/],
    ['input [N,28,28]', editedTiny((m) => { inputDims(m).splice(1, 1); }), /input "input" must be float32 \[N,1,28,28\] or \[N,784\], is float32 \[N,28,28\]/],
    // passes the contract (a [N,784] input), but the first Conv cannot take it: onnxruntime says so
    ['input [N,784] into a Conv', editedTiny((m) => { inputDims(m).splice(1, 3, ...fixed(784)); }), /onnxruntime cannot load it: .*Conv.*dimensions/],
    // loads, but takes one image at a time only: the batch-of-2 run finds it
    ['[N,784] reshaped to a batch of 1', withFlatInput([1, 1, 28, 28]), /onnxruntime cannot run it on a batch of 2 images: .*(Reshape|shape)/i],
  ];
  const results = await Promise.all(cases.map(([name, bytes]) => {
    const path = join(dir, `${name.replace(/\W+/g, '-')}.onnx`);
    writeFileSync(path, bytes);
    return startUp(path).then((r) => ({ ...r, path }));
  }));
  cases.forEach(([name, , why], i) => {
    const r = results[i];
    t.equal(r.code, 1, `${name}: exit 1`);
    t.match(r.stderr, new RegExp(`^onnx-digits: MODEL_PATH=${r.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `), `${name}: names MODEL_PATH`);
    t.match(r.stderr, why, `${name}: ${r.stderr.trim()}`);
    t.equal(r.stderr.trim().split('\n').length, 1, `${name}: one line`);
    t.notMatch(r.stderr, /onnxruntime_src|\.cc:\d|\bat .*\(/, `${name}: no C++ location or stack`);
    t.same(r.stdout, [], `${name}: never listened, no log lines`);
  });
});

t.test('a model the check accepts serves: the shipped tiny model, and one taking [N,784]', async (t) => {
  const dir = t.testdir();
  const flat = withFlatInput([-1, 1, 28, 28]);
  const png = await renderDigit(mnistDigit(loadMnistTest(3), 2), 'plain');
  for (const [name, bytes] of [['shipped tiny', shippedTiny], ['[N,784] input', flat]] as const) {
    const path = join(dir, `${name.replace(/\W+/g, '-')}.onnx`);
    writeFileSync(path, bytes);
    const c = startServer({ MODEL_PATH: path, BATCH_MAX_SIZE: '4' });
    t.teardown(() => { if (c.proc.exitCode === null) c.proc.kill('SIGKILL'); });
    await until(() => logLines(c).some((l) => /listening/i.test(String(l.msg))) || c.proc.exitCode !== null, `${name}: the server to listen`);
    t.equal(c.stderr.join(''), '', `${name}: nothing on stderr`);
    const address = String(logLines(c).find((l) => /listening/i.test(String(l.msg)))?.msg).match(/http:\/\/[\d.]+:\d+/)?.[0];
    let ready = false;
    await until(() => { void fetch(`${address}/readyz`).then((r) => { ready = r.ok; }, () => undefined); return ready; }, `${name}: readiness`);
    const res = await fetch(`${address}/predict`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: png });
    t.equal(res.status, 200, `${name}: /predict answers`);
    t.equal(((await res.json()) as { predictions: unknown[] }).predictions.length, 1);
    c.proc.kill('SIGTERM');
    t.equal(await c.exited, 0, `${name}: clean exit`);
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
