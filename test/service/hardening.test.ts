// Hardening against hostile or broken clients, over real loopback HTTP where sockets matter:
// abort listeners, client aborts, framework/socket-level errors in our error shape, request ids,
// log levels of expected rejections, empty and corrupt images.
import t from 'tap';
import { connect, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { Semaphore } from '../../src/util/semaphore.js';
import { build } from './helpers/app.js';
import { renderDigit } from './helpers/images.js';
import { loadMnistTest, mnistDigit } from './helpers/mnist.js';
import { imageParts, multipartBody } from './helpers/multipart.js';
import { componentMismatch } from './helpers/openapi.js';
import { withBadCrc } from './helpers/png.js';

const mnist = loadMnistTest(20);
const png = await renderDigit(mnistDigit(mnist, 3), 'plain');

async function listen(app: FastifyInstance): Promise<number> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  return (app.server.address() as AddressInfo).port;
}

/** Write raw bytes to the server; resolves with everything it sent back once it closes the socket. */
function rawExchange(port: number, chunks: Array<string | Buffer>): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.setEncoding('utf8').on('data', (d: string) => { reply += d; });
    socket.on('error', () => undefined); // the server may reset after answering; the reply is what counts
    socket.on('close', () => resolve(reply));
    socket.setTimeout(20_000, () => { socket.destroy(); reject(new Error(`no close; got ${JSON.stringify(reply)}`)); });
    for (const c of chunks) socket.write(c);
  });
}

function parseRaw(reply: string): { status: number; headers: Record<string, string>; body: unknown } {
  const [head, ...rest] = reply.split('\r\n\r\n');
  const lines = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) { const i = l.indexOf(':'); headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim(); }
  return { status: Number(lines[0].split(' ')[1]), headers, body: JSON.parse(rest.join('\r\n2\r\n\r\n')) };
}

t.test('Semaphore: one abort listener per signal however many of its waiters queue', async (t) => {
  const sem = new Semaphore(1);
  const release = await sem.acquire();
  const ctl = new AbortController();
  const n = 12 + Math.floor(Math.random() * 20);
  const waits = Array.from({ length: n }, () => sem.acquire(ctl.signal).then((r) => { r(); return 'granted'; }, () => 'aborted'));
  t.equal(sem.pending, n);
  t.equal(sem.signalsWatched, 1, 'one listener for all the waiters of one signal');
  ctl.abort(new Error('gone'));
  t.same(new Set(await Promise.all(waits)), new Set(['aborted']), 'every waiter of the aborted signal left the line');
  t.equal(sem.pending, 0);
  t.equal(sem.signalsWatched, 0);
  release();
  const other = new AbortController();
  const r2 = await sem.acquire();
  const granted = sem.acquire(other.signal);
  t.equal(sem.signalsWatched, 1);
  r2();
  (await granted)();
  t.equal(sem.signalsWatched, 0, 'the listener goes once its last waiter is granted');
  t.equal(sem.running, 0);
});

t.test('concurrent 16-image requests keep few abort listeners on each request signal (no MaxListenersExceededWarning)', async (t) => {
  const app = await build(t, { PREPROCESS_CONCURRENCY: 1, MAX_FILES: 16 });
  // Count live 'abort' listeners per signal (tap silences process warnings, so count the cause:
  // Node warns once a signal holds more than events.defaultMaxListeners = 10).
  const live = new WeakMap<AbortSignal, number>();
  let most = 0;
  const proto = AbortSignal.prototype as unknown as EventTarget;
  const add = proto.addEventListener;
  const remove = proto.removeEventListener;
  proto.addEventListener = function (this: AbortSignal, type: string, ...rest: unknown[]) {
    if (type === 'abort') { const n = (live.get(this) ?? 0) + 1; live.set(this, n); most = Math.max(most, n); }
    return (add as (...a: unknown[]) => void).call(this, type, ...rest);
  } as typeof add;
  proto.removeEventListener = function (this: AbortSignal, type: string, ...rest: unknown[]) {
    if (type === 'abort') live.set(this, Math.max(0, (live.get(this) ?? 0) - 1));
    return (remove as (...a: unknown[]) => void).call(this, type, ...rest);
  } as typeof remove;
  t.teardown(() => { proto.addEventListener = add; proto.removeEventListener = remove; });
  const { body, contentType } = multipartBody(imageParts(Array.from({ length: 16 }, () => png)));
  const res = await Promise.all(Array.from({ length: 4 }, () => app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': contentType }, payload: body })));
  t.same(res.map((r) => r.statusCode), [200, 200, 200, 200]);
  t.ok(most >= 1, 'the request signals were listened to');
  t.ok(most <= 10, `at most 10 abort listeners on one signal at once (saw ${most})`);
});
