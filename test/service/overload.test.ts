// Overload over real loopback HTTP: admission is decided before the body is read and bounded
// by QUEUE_MAX (images) and QUEUE_MAX_WAIT_MS (age of the oldest request in progress); every
// request gets an answer; REQUEST_TIMEOUT_MS bounds a request still uploading its body.
import t from 'tap';
import { connect, type AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { build } from './helpers/app.js';
import { renderDigit } from './helpers/images.js';
import { loadMnistTest, mnistDigit } from './helpers/mnist.js';
import { ControlledSession, until } from './helpers/sessions.js';

const mnist = loadMnistTest(20);
const png = await renderDigit(mnistDigit(mnist, 5), 'plain');

async function listen(app: FastifyInstance): Promise<{ url: string; port: number }> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/predict`, port };
}

const post = (url: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'image/png' }, body: png });

t.test('a burst past QUEUE_MAX: a bounded number admitted, the rest fast 503s, every request answered', async (t) => {
  const queueMax = 2 + Math.floor(Math.random() * 5);
  const burst = 20 + Math.floor(Math.random() * 20);
  const session = await ControlledSession.create();
  const app = await build(t, { BATCH_MAX_SIZE: 1, BATCH_MAX_DELAY_MS: 0, QUEUE_MAX: queueMax }, { openSession: async () => session });
  const { url } = await listen(app);
  session.hold(); // nothing finishes: admitted requests stay admitted
  let answered = 0;
  const responses = Array.from({ length: burst }, () => post(url).then(async (r) => {
    answered++;
    return { status: r.status, retryAfter: r.headers.get('retry-after'), code: ((await r.json()) as { error?: { code: string } }).error?.code };
  }));
  // one run in flight (held) plus at most QUEUE_MAX images waiting; everyone else refused
  await until(() => answered >= burst - queueMax - 1, 'the refusals');
  t.ok(app.host.imagesAdmitted <= queueMax, `at most QUEUE_MAX=${queueMax} images waiting (${app.host.imagesAdmitted})`);
  session.release();
  const all = await Promise.all(responses);
  const ok = all.filter((r) => r.status === 200).length;
  const refused = all.filter((r) => r.status === 503);
  t.equal(ok + refused.length, burst, `every request got 200 or 503 (${JSON.stringify(all.map((r) => r.status))})`);
  t.ok(ok >= 1 && ok <= queueMax + 1, `${ok} admitted of ${burst}, bounded by QUEUE_MAX + 1 run`);
  t.ok(refused.every((r) => r.code === 'overloaded' && r.retryAfter === '1'), 'refusals are 503 overloaded with Retry-After');
  t.equal(app.host.imagesAdmitted, 0, 'nothing left counted once all are answered');
  t.equal((await post(url)).status, 200, 'still answering');
});

t.test('QUEUE_MAX_WAIT_MS: while the oldest request in progress is older, new ones get 503', async (t) => {
  const session = await ControlledSession.create();
  const app = await build(t, { BATCH_MAX_SIZE: 1, BATCH_MAX_DELAY_MS: 0, QUEUE_MAX: 1000, QUEUE_MAX_WAIT_MS: 50 }, { openSession: async () => session });
  const { url } = await listen(app);
  session.hold();
  const slow = post(url);
  await until(() => app.host.batcher!.runsInFlight === 1, 'the first request to run');
  await until(() => app.host.oldestWorkMs > 50, 'the first request to pass QUEUE_MAX_WAIT_MS');
  const refused = await post(url);
  t.equal(refused.status, 503);
  const body = (await refused.json()) as { error: { code: string; message: string } };
  t.equal(body.error.code, 'overloaded');
  t.match(body.error.message, /QUEUE_MAX_WAIT_MS/);
  session.release();
  t.equal((await slow).status, 200, 'the admitted request still completes');
  t.equal(app.host.oldestWorkMs, 0);
  t.equal((await post(url)).status, 200, 'admitting again once the old work is done');
});

t.test('REQUEST_TIMEOUT_MS bounds a request whose body never finishes arriving', async (t) => {
  const app = await build(t, { REQUEST_TIMEOUT_MS: 200 });
  const { port } = await listen(app);
  const socket = connect(port, '127.0.0.1');
  let reply = '';
  socket.setEncoding('utf8').on('data', (d: string) => { reply += d; });
  const closed = new Promise<void>((r) => socket.on('close', () => r()));
  socket.write(`POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 5000\r\n\r\n`);
  socket.write(png.subarray(0, 16)); // and then nothing more
  await closed; // the server answers and closes; without the deadline this would hang
  t.match(reply, /^HTTP\/1\.1 504 /, 'answered 504');
  t.match(reply, /"code":"timeout"/);
  t.equal(app.host.imagesAdmitted, 0, 'the half-read request is no longer counted');
  t.equal((await post(`http://127.0.0.1:${port}/predict`)).status, 200, 'still answering');
});
