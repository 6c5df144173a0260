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

t.test('concurrent 16-image requests print no MaxListenersExceededWarning', async (t) => {
  const app = await build(t, { PREPROCESS_CONCURRENCY: 1, MAX_FILES: 16 });
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  t.teardown(() => { process.off('warning', onWarning); });
  const { body, contentType } = multipartBody(imageParts(Array.from({ length: 16 }, () => png)));
  const res = await Promise.all(Array.from({ length: 4 }, () => app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': contentType }, payload: body })));
  t.same(res.map((r) => r.statusCode), [200, 200, 200, 200]);
  await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
  t.same(warnings.filter((w) => /MaxListeners/.test(w)), [], 'no listener-leak warning');
});
