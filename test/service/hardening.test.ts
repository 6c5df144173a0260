// Hardening against hostile or broken clients, over real loopback HTTP where sockets matter:
// abort listeners, client aborts, framework/socket-level errors in our error shape, request ids,
// log levels of expected rejections, empty and corrupt images.
import t from 'tap';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { Semaphore } from '../../src/util/semaphore.js';
import { build } from './helpers/app.js';
import { renderDigit } from './helpers/images.js';
import { loadMnistTest, mnistDigit } from './helpers/mnist.js';
import { imageParts, multipartBody } from './helpers/multipart.js';
import { componentMismatch } from './helpers/openapi.js';
import { withBadCrc } from './helpers/png.js';
import { ControlledSession } from './helpers/sessions.js';

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

/** A log sink for buildApp: the JSON lines the app writes. */
function logSink(): { stream: Writable; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _enc, cb) { chunks.push(chunk.toString('utf8')); cb(); } });
  return { stream, lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const isOurError = (body: unknown) => componentMismatch('/components/schemas/Error', body);

t.test('errors before routing come back in our error shape with an X-Request-Id', async (t) => {
  const app = await build(t);
  const port = await listen(app);
  const cases: Array<{ name: string; send: string[]; status: number; code: string }> = [
    { name: 'headers too large', send: [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000 + Math.floor(Math.random() * 40_000))}\r\n\r\n`], status: 431, code: 'headers_too_large' },
    { name: 'malformed chunked body', send: [`POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`], status: 400, code: 'invalid_request' },
    { name: 'garbage request line', send: ['HELLO THERE\r\n\r\n'], status: 400, code: 'invalid_request' },
    { name: 'undecodable URL', send: ['GET /%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'], status: 400, code: 'invalid_request' },
  ];
  for (const c of cases) {
    const r = parseRaw(await rawExchange(port, c.send));
    t.equal(r.status, c.status, `${c.name}: status`);
    t.equal(isOurError(r.body), '', `${c.name}: our error shape`);
    t.equal((r.body as { error: { code: string } }).error.code, c.code, `${c.name}: code`);
    t.match(r.headers['x-request-id'] ?? '', /^[\w-]{8,}$/, `${c.name}: X-Request-Id`);
  }
  t.equal(componentMismatch('/components/responses/HeadersTooLarge/content/application~1json/schema', parseRaw(await rawExchange(port, cases[0].send)).body), '', '431 as openapi.yaml says');
  t.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200, 'still answering');
});

t.test('headers that never finish: Node\'s request timeout is answered 408 request_timeout in our shape', async (t) => {
  const app = await build(t);
  const port = await listen(app);
  // Node reports it as a clientError ERR_HTTP_REQUEST_TIMEOUT from its connection sweep; raise
  // that same event on the real server-side socket of a stalled client, without the wait.
  const serverSide = new Promise<Socket>((r) => app.server.once('connection', r));
  const client = connect(port, '127.0.0.1');
  client.on('error', () => undefined);
  let reply = '';
  client.setEncoding('utf8').on('data', (d: string) => { reply += d; });
  const closed = new Promise<void>((r) => client.on('close', () => r()));
  client.write('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: abc');
  const socket = await serverSide;
  app.server.emit('clientError', Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), socket);
  await closed;
  const r = parseRaw(reply);
  t.equal(r.status, 408);
  t.equal(componentMismatch('/components/responses/RequestTimeout/content/application~1json/schema', r.body), '');
  t.match(r.headers['x-request-id'] ?? '', /^[0-9a-f-]{36}$/);
});

t.test('X-Request-Id: short plain ids are echoed, anything else is replaced by a generated one', async (t) => {
  const app = await build(t);
  const alphabet = 'ABCXYZabcxyz0189._-';
  const plain = Array.from({ length: 1 + Math.floor(Math.random() * 128) }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join('');
  const echoed = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': plain } });
  t.equal(echoed.headers['x-request-id'], plain, `a ${plain.length}-char plain id is echoed`);
  for (const bad of ['x'.repeat(129), 'has space', 'semi;colon', '<script>', 'ünïcode', '']) {
    const res = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': bad } });
    const id = String(res.headers['x-request-id']);
    t.not(id, bad, `${JSON.stringify(bad.slice(0, 20))} is not echoed`);
    t.match(id, /^[0-9a-f-]{36}$/, 'a generated UUID instead');
  }
});

t.test('expected refusals are logged once, at info, in the request line; 5xx at error', async (t) => {
  const sink = logSink();
  const app = await build(t, { LOG_LEVEL: 'info', QUEUE_MAX: 1 }, { logStream: sink.stream });
  const before = sink.lines().length;
  const cases = [
    { req: { method: 'POST' as const, url: '/predict', headers: { 'content-type': 'text/plain' }, payload: 'hi' }, status: 415 },
    { req: { method: 'GET' as const, url: '/nope' }, status: 404 },
  ];
  for (const c of cases) t.equal((await app.inject(c.req)).statusCode, c.status);
  app.host.requestsReading = 1; // one body "arriving": the next one is past QUEUE_MAX=1
  t.equal((await app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': 'image/png' }, payload: png })).statusCode, 503);
  app.host.requestsReading = 0;
  app.host.beginDrain();
  const draining = await app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': 'image/png' }, payload: png });
  t.equal(draining.statusCode, 503);
  const lines = sink.lines().slice(before);
  t.equal(lines.length, 4, `one line per request (${lines.map((l) => l.msg).join(', ')})`);
  t.ok(lines.every((l) => l.msg === 'request completed' && l.level === 30), 'each at info');
  t.same(lines.map((l) => l.code), ['unsupported_media_type', 'not_found', 'overloaded', 'shutting_down'], 'with its error code');
});

t.test('a 500 is logged at error, with the cause', async (t) => {
  const sink = logSink();
  const session = await ControlledSession.create();
  const app = await build(t, { LOG_LEVEL: 'info' }, { logStream: sink.stream, openSession: async () => session });
  session.failAll = true; // after warm-up
  const before = sink.lines().length;
  const res = await app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': 'image/png' }, payload: png });
  t.equal(res.statusCode, 500);
  const lines = sink.lines().slice(before);
  const failed = lines.find((l) => l.msg === 'request failed');
  t.ok(failed && failed.level === 50 && /injected failure/.test(JSON.stringify(failed.err)), 'the cause at error');
  const done = lines.find((l) => l.msg === 'request completed');
  t.equal(done?.level, 50, 'the request line at error');
  t.equal(done?.code, 'inference_failed');
});

t.test('a zero-byte image is 400 invalid_image "empty image", whichever way it is sent', async (t) => {
  const app = await build(t);
  const mp = multipartBody([...imageParts([png]), { name: 'image', filename: 'blank.png', contentType: 'image/png', data: Buffer.alloc(0) }]);
  const sends = [
    { headers: { 'content-type': 'image/png' }, payload: Buffer.alloc(0), index: 0 },
    { headers: { 'content-type': mp.contentType }, payload: mp.body, index: 1, filename: 'blank.png' },
    { headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ images: [png.toString('base64'), ''] }), index: 1 },
  ];
  for (const s of sends) {
    const res = await app.inject({ method: 'POST', url: '/predict', headers: s.headers, payload: s.payload });
    t.equal(res.statusCode, 400, s.headers['content-type']);
    const body = res.json() as { error: { code: string; message: string; details?: { index?: number; filename?: string } } };
    t.equal(isOurError(body), '');
    t.equal(body.error.code, 'invalid_image');
    t.match(body.error.message, /^empty image/);
    t.equal(body.error.details?.index, s.index, 'names the image');
    if (s.filename) t.equal(body.error.details?.filename, s.filename);
  }
});

t.test('a damaged PNG gets a message that says what is wrong', async (t) => {
  const app = await build(t);
  const big = await renderDigit(mnistDigit(mnist, 7), 'big-offcentre');
  const cut = 40 + Math.floor(Math.random() * (big.length - 80));
  for (const [name, bytes, want] of [
    ['bad CRC', withBadCrc(big), /could not decode PNG: corrupt: the CRC of chunk IDAT at byte \d+ does not match/],
    ['bad CRC, small image', withBadCrc(png), /could not decode PNG: corrupt: the CRC of chunk IDAT/],
    ['truncated', big.subarray(0, cut), /could not decode PNG: truncated/],
  ] as const) {
    const res = await app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': 'image/png' }, payload: bytes });
    t.equal(res.statusCode, 400, name);
    const body = res.json() as { error: { code: string; message: string } };
    t.equal(body.error.code, 'invalid_image', name);
    t.match(body.error.message, want, `${name}: ${body.error.message}`);
    t.notMatch(body.error.message, /Unknown error|read error/i, `${name}: not the decoder's words`);
  }
});

t.test('REQUEST_TIMEOUT_MS also bounds a chunked upload dribbling in a byte at a time', async (t) => {
  const timeoutMs = 300 + Math.floor(Math.random() * 200);
  const app = await build(t, { REQUEST_TIMEOUT_MS: timeoutMs });
  const port = await listen(app);
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  let reply = '';
  socket.setEncoding('utf8').on('data', (d: string) => { reply += d; });
  const closed = new Promise<void>((r) => socket.on('close', () => r()));
  socket.write('POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n');
  let i = 0;
  const drip = setInterval(() => { if (!socket.destroyed) socket.write(`1\r\n${String.fromCharCode(png[i++ % png.length])}\r\n`, 'latin1'); }, 50);
  t.teardown(() => clearInterval(drip));
  await closed; // the server answers and closes the socket itself
  clearInterval(drip);
  const r = parseRaw(reply);
  t.equal(r.status, 504);
  t.equal((r.body as { error: { code: string } }).error.code, 'timeout');
  t.equal(isOurError(r.body), '');
  t.ok(i > 1, 'the client kept sending until cut off');
});

t.test('a request refused before its body is read (wrong API key) closes its connection', async (t) => {
  const app = await build(t, { API_KEY: 'right-key-' + Math.random().toString(36).slice(2) });
  const port = await listen(app);
  const declared = 5000 + Math.floor(Math.random() * 5000);
  for (const auth of ['Authorization: Bearer nope\r\n', '']) {
    // Only part of the declared body arrives; the server must answer and hang up, not wait on keep-alive.
    const reply = await rawExchange(port, [
      `POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: ${declared}\r\n${auth}\r\n`,
      Buffer.alloc(100, 7),
    ]);
    const r = parseRaw(reply);
    t.equal(r.status, 401, `${auth ? 'wrong' : 'missing'} key: 401`);
    t.equal(r.headers.connection, 'close', 'Connection: close');
  }
});

t.test('a stalled header is answered 408 by the real sweep, not ~30 s later', async (t) => {
  // Node sweeps for timed-out requests every connectionsCheckingInterval (30 s by default);
  // app.ts ties it to REQUEST_TIMEOUT_MS, so this answer comes well inside rawExchange's 20 s.
  const app = await build(t, { REQUEST_TIMEOUT_MS: 1000 });
  const port = await listen(app);
  const r = parseRaw(await rawExchange(port, ['GET /healthz HTTP/1.1\r\nHost: x\r\n']));
  t.equal(r.status, 408);
  t.equal((r.body as { error: { code: string } }).error.code, 'request_timeout');
});

/** Open a raw socket, send the headers of a POST /predict declaring all of `body`, then `cut` bytes of it. */
async function partialUpload(port: number, contentType: string, body: Buffer, cut: number) {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  let reply = '';
  socket.setEncoding('latin1').on('data', (d: string) => { reply += d; });
  const closed = new Promise<void>((resolve, reject) => {
    socket.on('close', () => resolve());
    socket.setTimeout(10_000, () => { socket.destroy(); reject(new Error(`the server never closed; got ${JSON.stringify(reply)}`)); });
  });
  await new Promise<void>((r) => socket.on('connect', () => r()));
  socket.write(`POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: ${contentType}\r\nContent-Length: ${body.length}\r\n\r\n`);
  await new Promise<void>((r) => socket.write(body.subarray(0, cut), () => r()));
  return { socket, closed, reply: () => reply };
}

const rejectionLines = (metrics: string) => metrics.split('\n').filter((l) => l.startsWith('rejections_total{'));

t.test('a client that leaves mid-upload (reset or FIN; multipart and raw) is counted and logged once, at info, as client_aborted', async (t) => {
  // An early FIN also reaches Node's parser as HPE_INVALID_EOF_STATE on the socket while the
  // request sees 'aborted': only one of the two may count it. LOG_LEVEL debug: no line but one.
  const sink = logSink();
  const app = await build(t, { LOG_LEVEL: 'debug' }, { logStream: sink.stream });
  const port = await listen(app);
  const big = await renderDigit(mnistDigit(mnist, 5), 'big-offcentre');
  const mp = multipartBody(imageParts([big]));
  let uploads = 0;
  for (const leave of ['reset', 'fin'] as const) {
    for (const [contentType, body] of [[mp.contentType, mp.body], ['image/png', big]] as const) {
      const up = await partialUpload(port, contentType, body, 1 + Math.floor(Math.random() * (body.length - 2)));
      await new Promise((r) => setTimeout(r, 30)); // let the server start reading the body
      uploads++;
      if (leave === 'reset') { up.socket.destroy(); continue; }
      up.socket.end(); // FIN: "I am done sending", with the body short of its Content-Length
      await up.closed;
      t.notMatch(up.reply(), /malformed/, `${contentType.split(';')[0]}: no "malformed HTTP request" answer to a request that was not malformed`);
    }
  }
  const aborted = () => sink.lines().filter((l) => l.msg === 'request aborted by the client');
  for (let i = 0; i < 200 && aborted().length < uploads; i++) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 50)); // room for a late second line
  t.equal(aborted().length, uploads, 'each abort logged as a client abort');
  t.ok(aborted().every((l) => l.level === 30), 'at info');
  t.same(sink.lines().filter((l) => Number(l.level) >= 50), [], 'nothing at error level');
  t.same(sink.lines().filter((l) => l.msg === 'client error before routing'), [], 'not also logged as a client error');
  t.same(rejectionLines(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()),
    [`rejections_total{reason="client_aborted"} ${uploads}`], 'counted once each, as client_aborted only');
});

t.test('an upload the client stalls: 504 and closed, logged at info; a service-side timeout stays at error', async (t) => {
  const sink = logSink();
  const session = await ControlledSession.create();
  const timeoutMs = 300 + Math.floor(Math.random() * 200);
  const app = await build(t, { LOG_LEVEL: 'info', REQUEST_TIMEOUT_MS: timeoutMs }, { logStream: sink.stream, openSession: async () => session });
  const port = await listen(app);
  const before = sink.lines().length;
  const mp = multipartBody(imageParts([png]));
  for (const [contentType, body] of [[mp.contentType, mp.body], ['image/png', png]] as const) {
    const up = await partialUpload(port, contentType, body, 1 + Math.floor(Math.random() * (body.length - 2)));
    await up.closed; // then nothing more: the server answers at the deadline and hangs up itself
    const r = parseRaw(up.reply());
    t.equal(r.status, 504, `${contentType.split(';')[0]}: 504`);
    t.equal((r.body as { error: { code: string } }).error.code, 'timeout');
    t.equal(r.headers.connection, 'close');
  }
  // Service side: the whole body arrived, inference is too slow.
  session.hold();
  const slow = await app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': 'image/png' }, payload: png });
  session.release();
  t.equal(slow.statusCode, 504);
  await new Promise((r) => setTimeout(r, 50)); // room for late lines (a handler rejecting after the 504)
  const lines = sink.lines().slice(before);
  const done = lines.filter((l) => l.msg === 'request completed');
  t.same(done.map((l) => [l.statusCode, l.code, l.level]), [[504, 'timeout', 30], [504, 'timeout', 30], [504, 'timeout', 50]],
    'stalled uploads at info, the slow inference at error');
  t.same(lines.filter((l) => Number(l.level) >= 40 && l !== done[2]).map((l) => l.msg), [], 'nothing else at warn or error');
  t.same(rejectionLines(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()), ['rejections_total{reason="timeout"} 3'], 'each counted once, as timeout');
});

/** Lines of the log about one request id. */
const linesOf = (lines: Array<Record<string, unknown>>, id: string) => lines.filter((l) => l.reqId === id);

t.test('a malformed chunked body inside a routed request: one 400 under the request\'s own id, counted and logged once', async (t) => {
  // Node reports the bad chunk as a socket parse error (clientError) while the request it belongs
  // to is already routed and reading its body: the request owns it. LOG_LEVEL debug: every line shows.
  const sink = logSink();
  const app = await build(t, { LOG_LEVEL: 'debug' }, { logStream: sink.stream });
  const port = await listen(app);
  const mp = multipartBody(imageParts([png]));
  const chunk = (b: Buffer) => `${b.length.toString(16)}\r\n${b.toString('latin1')}\r\n`;
  const head = (url: string, contentType: string, id: string) =>
    `POST ${url} HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${id}\r\nContent-Type: ${contentType}\r\nTransfer-Encoding: chunked\r\n\r\n`;
  const run = Math.random().toString(36).slice(2, 8);
  const cases = [
    // the bad chunk in the same packet as the headers: no body reader has started yet
    { name: 'raw png, at once', id: `at-once-${run}`, first: head('/predict', 'image/png', `at-once-${run}`) + 'ZZZ\r\n' },
    { name: 'json, at once', id: `json-${run}`, first: head('/predict', 'application/json', `json-${run}`) + 'ZZZ\r\n' },
    { name: 'unknown route, at once', id: `nope-${run}`, first: head('/nope', 'application/json', `nope-${run}`) + 'ZZZ\r\n' },
    // the bad chunk after part of the body: the body reader (Fastify's, busboy) is mid-way
    { name: 'raw png, mid-body', id: `mid-raw-${run}`, first: head('/predict', 'image/png', `mid-raw-${run}`) + chunk(png.subarray(0, 40)), later: 'ZZZ\r\n' },
    { name: 'multipart, mid-body', id: `mid-mp-${run}`, first: head('/predict', mp.contentType, `mid-mp-${run}`) + chunk(mp.body.subarray(0, 200)), later: 'ZZZ\r\n' },
  ];
  for (const c of cases) {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    let reply = '';
    socket.setEncoding('latin1').on('data', (d: string) => { reply += d; });
    const closed = new Promise<void>((resolve, reject) => {
      socket.on('close', () => resolve());
      socket.setTimeout(10_000, () => { socket.destroy(); reject(new Error(`${c.name}: the server never closed; got ${JSON.stringify(reply)}`)); });
    });
    socket.write(c.first, 'latin1');
    if (c.later) {
      await new Promise((r) => setTimeout(r, 50)); // the server is reading the body now
      socket.write(c.later);
    }
    await closed;
    const r = parseRaw(reply);
    t.equal(r.status, 400, `${c.name}: 400`);
    t.equal(isOurError(r.body), '', `${c.name}: our error shape`);
    t.equal((r.body as { error: { code: string } }).error.code, 'invalid_request', `${c.name}: invalid_request`);
    t.match((r.body as { error: { message: string } }).error.message, /malformed HTTP request \(HPE_/, `${c.name}: says what is wrong`);
    t.equal(r.headers['x-request-id'], c.id, `${c.name}: under the request's own id`);
    t.equal(reply.match(/HTTP\/1\.1 /g)?.length, 1, `${c.name}: one answer`);
  }
  await new Promise((r) => setTimeout(r, 50)); // room for late lines
  const lines = sink.lines();
  for (const c of cases) {
    const mine = linesOf(lines, c.id).filter((l) => l.msg !== 'starting multipart parsing');
    t.same(mine.map((l) => [l.msg, l.level, l.statusCode, l.code]), [['request completed', 30, 400, 'invalid_request']], `${c.name}: one request line, at info`);
  }
  t.same(lines.filter((l) => l.msg === 'request aborted by the client' || l.msg === 'client error before routing').map((l) => l.msg), [],
    'not also an abort or a client error of another id');
  t.same(rejectionLines(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()),
    [`rejections_total{reason="invalid_request"} ${cases.length}`], 'counted once each, as invalid_request only');
});

/** A raw socket to the server: write to it, read what came back, wait for the server to close it. */
function rawSocket(port: number) {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  let reply = '';
  socket.setEncoding('latin1').on('data', (d: string) => { reply += d; });
  const closed = new Promise<void>((resolve, reject) => {
    socket.on('close', () => resolve());
    socket.setTimeout(10_000, () => { socket.destroy(); reject(new Error(`the server never closed; got ${JSON.stringify(reply)}`)); });
  });
  return { socket, closed, reply: () => reply };
}

t.test('malformed bytes after a request that is answered, or complete, leave that request its one outcome', async (t) => {
  const sink = logSink();
  const key = 'right-key-' + Math.random().toString(36).slice(2);
  const app = await build(t, { LOG_LEVEL: 'debug', API_KEY: key }, { logStream: sink.stream });
  const port = await listen(app);
  const run = Math.random().toString(36).slice(2, 8);
  const outcome = (id: string) => linesOf(sink.lines(), id).filter((l) => l.msg === 'request completed').map((l) => [l.statusCode, l.code ?? null]);
  const responses = (reply: string) => [...reply.matchAll(/HTTP\/1\.1 (\d+)[^]*?x-request-id: ([^\r]+)/gi)].map((m) => [Number(m[1]), m[2]]);

  // 1. refused by its headers (wrong key), the bad chunk right behind them: the 401 is its answer
  const refused = rawSocket(port);
  refused.socket.write(`POST /predict HTTP/1.1\r\nHost: x\r\nX-Request-Id: refused-${run}\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n`);
  await refused.closed;
  t.same(responses(refused.reply()), [[401, `refused-${run}`]], 'refused: one answer, the 401');
  // 2. answered without its body being read (GET /healthz), then a bad chunk: the 200 stands
  const ignored = rawSocket(port);
  ignored.socket.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: ignored-${run}\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n`);
  for (let i = 0; i < 400 && !ignored.reply().includes('\r\n\r\n'); i++) await new Promise((r) => setTimeout(r, 5));
  ignored.socket.write('ZZZ\r\n');
  await ignored.closed;
  t.same(responses(ignored.reply()), [[200, `ignored-${run}`]], 'answered: one answer, the 200; then the connection is closed');
  // 3. a whole request, then garbage pipelined behind it while it is being worked on: it is answered,
  //    then the garbage gets its 400, and only the garbage counts as invalid_request
  const pipelined = rawSocket(port);
  pipelined.socket.write(Buffer.concat([
    Buffer.from(`POST /predict HTTP/1.1\r\nHost: x\r\nX-Request-Id: whole-${run}\r\nAuthorization: Bearer ${key}\r\nContent-Type: image/png\r\nContent-Length: ${png.length}\r\n\r\n`),
    png,
    Buffer.from('HELLO THERE\r\n\r\n'),
  ]));
  await pipelined.closed;
  const answers = responses(pipelined.reply());
  t.same(answers.map(([status]) => status), [200, 400], 'pipelined: the request is answered, then the garbage');
  t.equal(answers[0][1], `whole-${run}`);
  await new Promise((r) => setTimeout(r, 50));
  t.same(outcome(`refused-${run}`), [[401, 'unauthorized']], 'refused: one request line');
  t.same(outcome(`ignored-${run}`), [[200, null]], 'answered: one request line');
  t.same(outcome(`whole-${run}`), [[200, null]], 'pipelined: one request line for the request');
  t.same(sink.lines().filter((l) => l.msg === 'request aborted by the client').map((l) => l.reqId), [], 'no request taken for a client abort');
  t.same(sink.lines().filter((l) => l.msg === 'client error before routing').map((l) => l.code), ['invalid_request'], 'the garbage: one client error before routing');
  t.same(rejectionLines(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).sort(),
    ['rejections_total{reason="invalid_request"} 1', 'rejections_total{reason="unauthorized"} 1'], 'one count each: the refusal, the garbage');
});

t.test('Node\'s request-timeout backstop inside a routed request (a body dribbling in off /predict): one 408 under its own id', async (t) => {
  // /predict answers its own 504 at REQUEST_TIMEOUT_MS; any other route is left to Node's
  // requestTimeout (1 s later), which Node reports on the socket, like a parse error.
  const sink = logSink();
  const app = await build(t, { LOG_LEVEL: 'debug', REQUEST_TIMEOUT_MS: 300 }, { logStream: sink.stream });
  const port = await listen(app);
  const id = `dribble-${Math.random().toString(36).slice(2, 8)}`;
  const up = rawSocket(port);
  up.socket.write(`POST /v1/models HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${id}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n`);
  const drip = setInterval(() => { if (!up.socket.destroyed) up.socket.write('1\r\n \r\n'); }, 50);
  t.teardown(() => clearInterval(drip));
  await up.closed;
  clearInterval(drip);
  const r = parseRaw(up.reply());
  t.equal(r.status, 408);
  t.equal((r.body as { error: { code: string } }).error.code, 'request_timeout');
  t.equal(r.headers['x-request-id'], id, 'under the request\'s own id');
  await new Promise((r) => setTimeout(r, 50));
  t.same(linesOf(sink.lines(), id).map((l) => [l.msg, l.level, l.statusCode, l.code]), [['request completed', 30, 408, 'request_timeout']], 'one request line, at info');
  t.same(sink.lines().filter((l) => l.msg === 'request aborted by the client' || l.msg === 'client error before routing').map((l) => l.msg), [], 'nothing else');
  t.same(rejectionLines(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()), ['rejections_total{reason="request_timeout"} 1'], 'counted once');
});

t.test('an undecodable URL is counted and logged once, at info, like other refusals', async (t) => {
  const sink = logSink();
  const app = await build(t, { LOG_LEVEL: 'info' }, { logStream: sink.stream });
  const port = await listen(app);
  const id = `bad-url-${Math.random().toString(36).slice(2, 8)}`;
  const r = parseRaw(await rawExchange(port, [`GET /%E0%A4%A HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${id}\r\nConnection: close\r\n\r\n`]));
  t.equal(r.status, 400);
  t.equal((r.body as { error: { code: string } }).error.code, 'invalid_request');
  t.equal(r.headers['x-request-id'], id);
  await new Promise((r) => setTimeout(r, 50));
  const mine = linesOf(sink.lines(), id);
  t.same(mine.map((l) => [l.msg, l.level, l.statusCode, l.code, l.route]), [['request completed', 30, 400, 'invalid_request', 'unmatched']], 'one request line, at info');
  t.type(mine[0]?.responseTimeMs, 'number');
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  t.same(rejectionLines(metrics), ['rejections_total{reason="invalid_request"} 1'], 'counted once');
  t.match(metrics, /http_request_duration_seconds_count\{method="GET",route="unmatched",status_code="400"\} 1/, 'in the request duration histogram');
});
