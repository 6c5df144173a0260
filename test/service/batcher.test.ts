import t from 'tap';
import { Batcher, type BatcherOptions } from '../../src/inference/batcher.js';
import { OrtModelSession } from '../../src/inference/ort-session.js';
import { isAppError } from '../../src/errors.js';
import { buildTinyModel, seededRandom } from './helpers/tiny-model.js';
import { ControlledSession, POISON } from './helpers/sessions.js';

const seed = Date.now() >>> 0;
const rand = seededRandom(seed);
const image = () => Float32Array.from({ length: 784 }, () => rand());
const ort = await OrtModelSession.create(buildTinyModel(), { providers: ['cpu'], intraOpThreads: 1 });
t.teardown(() => ort.dispose());

// By default the batcher is told more uploads are always on their way (incoming > 0), so a
// partial batch waits for company; the eager-when-idle tests pass their own `incoming`.
function setup(opts: Partial<BatcherOptions>) {
  const session = new ControlledSession(ort);
  const depths: number[] = [];
  const batcher = new Batcher(session, { maxBatchSize: 8, maxDelayMs: 5, queueMax: 100, concurrency: 1, incoming: () => 1, ...opts }, { onQueueDepth: (d) => depths.push(d) });
  return { session, batcher, depths };
}

async function alone(x: Float32Array): Promise<Float32Array> {
  return (await ort.run(x, 1)).probabilities;
}

t.test('results are routed back per request, in order, equal to running each image alone', async (t) => {
  const { batcher, session } = setup({ maxBatchSize: 4, maxDelayMs: 1 });
  const requests = Array.from({ length: 6 }, () => Array.from({ length: 1 + Math.floor(rand() * 4) }, image));
  const answers = await Promise.all(requests.map((imgs) => batcher.submit(imgs)));
  for (const [r, imgs] of requests.entries()) {
    t.equal(answers[r].length, imgs.length);
    for (const [i, x] of imgs.entries()) {
      const ref = await alone(x);
      t.ok(answers[r][i].every((v, k) => Math.abs(v - ref[k]) < 1e-5), `request ${r} image ${i} (seed ${seed})`);
    }
  }
  t.ok(session.batches.every((n) => n <= 4), `no batch over the max: ${session.batches}`);
  t.equal(session.batches.reduce((a, b) => a + b, 0), requests.flat().length, 'every image ran exactly once');
});

t.test('flush by size: full batches leave without waiting for the delay', async (t) => {
  // the delay is a minute: if full batches waited for it, this test would time out
  const { batcher, session } = setup({ maxBatchSize: 8, maxDelayMs: 60_000, concurrency: 2 });
  const full = Promise.all([batcher.submit(Array.from({ length: 5 }, image)), batcher.submit(Array.from({ length: 11 }, image))]);
  await full;
  t.same(session.batches, [8, 8]);
  const rest = batcher.submit([image()]);
  await batcher.drain(); // drain sends the partial batch at once
  t.equal((await rest).length, 1);
  t.same(session.batches, [8, 8, 1]);
});

t.test('flush by time: a partial batch leaves after the delay, as one run', async (t) => {
  const { batcher, session } = setup({ maxBatchSize: 64, maxDelayMs: 30 });
  const got = await Promise.all([batcher.submit([image(), image()]), batcher.submit([image()]), batcher.submit([image(), image(), image()])]);
  t.same(got.map((g) => g.length), [2, 1, 3]);
  t.same(session.batches, [6], 'images submitted together within the delay share one run');
});

t.test('eager when idle: with nothing else on its way a partial batch leaves at once, whatever the delay', async (t) => {
  // the delay is a minute: if the lone request waited for it, this test would time out
  const { batcher, session } = setup({ maxBatchSize: 64, maxDelayMs: 60_000, incoming: () => 0 });
  const n = 1 + Math.floor(rand() * 5);
  t.equal((await batcher.submit(Array.from({ length: n }, image))).length, n);
  t.same(session.batches, [n]);
  t.equal((await batcher.submit([image()])).length, 1);
  t.same(session.batches, [n, 1], 'each lone request ran on its own, without waiting');
});

t.test('a partial batch waits for company only while more images are announced', async (t) => {
  let incoming = 2; // two uploads are being decoded
  const { batcher, session } = setup({ maxBatchSize: 64, maxDelayMs: 60_000, incoming: () => incoming });
  const a = batcher.submit([image()]);
  await new Promise((r) => setImmediate(r));
  t.same(session.batches, [], 'held: company is on its way');
  t.equal(batcher.queueDepth, 1);
  incoming = 1;
  const b = batcher.submit([image(), image()]);
  await new Promise((r) => setImmediate(r));
  t.same(session.batches, [], 'still one upload to come');
  incoming = 0;
  const c = batcher.submit([image()]); // the last announced upload arrives
  t.same((await Promise.all([a, b, c])).map((x) => x.length), [1, 2, 1]);
  t.same(session.batches, [4], 'all of them in one run, as soon as nobody else was coming');
});

t.test('BATCH_MAX_DELAY_MS=0 is always eager, even with uploads on their way', async (t) => {
  const { batcher, session } = setup({ maxBatchSize: 64, maxDelayMs: 0, incoming: () => 100 });
  t.equal((await batcher.submit([image(), image()])).length, 2);
  t.same(session.batches, [2]);
});

t.test('a worker that frees takes everything queued meanwhile, up to the max, without waiting', async (t) => {
  const { batcher, session } = setup({ maxBatchSize: 4, maxDelayMs: 60_000, incoming: () => 0 });
  session.hold();
  const first = batcher.submit([image()]); // idle worker, nobody else coming: runs alone (held)
  await new Promise((r) => setImmediate(r));
  t.same(session.batches, [1]);
  const queued = [batcher.submit([image(), image()]), batcher.submit([image()]), batcher.submit([image(), image(), image()])];
  t.equal(batcher.queueDepth, 6, 'queued while the only worker is busy');
  session.release();
  t.equal((await first).length, 1);
  t.same((await Promise.all(queued)).map((x) => x.length), [2, 1, 3]);
  t.same(session.batches, [1, 4, 2], 'freed worker took 4 (the max) at once, then the remaining 2');
});

t.test('BATCH_MAX_SIZE=1 turns batching off', async (t) => {
  const { batcher, session } = setup({ maxBatchSize: 1, maxDelayMs: 50 });
  await Promise.all([batcher.submit([image(), image()]), batcher.submit([image()])]);
  t.same(session.batches, [1, 1, 1]);
});

t.test('queue full -> overloaded (503, Retry-After) and nothing is queued', async (t) => {
  const { batcher, session } = setup({ maxBatchSize: 2, maxDelayMs: 0, queueMax: 4 });
  session.hold();
  const first = batcher.submit([image(), image()]); // in flight (held)
  const queued = batcher.submit([image(), image(), image()]); // waits: 3 of 4
  const err = await batcher.submit([image(), image()]).catch((e: unknown) => e);
  t.ok(isAppError(err));
  if (isAppError(err)) {
    t.equal(err.code, 'overloaded');
    t.equal(err.status, 503);
    t.equal(err.retryAfter, 1);
  }
  t.equal(batcher.queueDepth, 3);
  t.ok(batcher.hasRoomFor(1));
  t.notOk(batcher.hasRoomFor(2));
  session.release();
  t.equal((await first).length, 2);
  t.equal((await queued).length, 3);
});

t.test('a failed run fails only the requests that had images in it', async (t) => {
  const { batcher, session } = setup({ maxBatchSize: 2, maxDelayMs: 0 });
  session.hold();
  const blocker = batcher.submit([image(), image()]);
  const poisoned = image();
  poisoned[0] = POISON;
  const a = batcher.submit([poisoned]);
  const b = batcher.submit([image()]); // shares the poisoned batch
  const c = batcher.submit([image(), image()]); // its own batch
  session.release();
  await blocker;
  const [ra, rb, rc] = await Promise.allSettled([a, b, c]);
  t.equal(ra.status, 'rejected');
  t.equal(rb.status, 'rejected');
  t.equal(rc.status, 'fulfilled', 'the next batch is unaffected');
  const reason = (ra as PromiseRejectedResult).reason;
  t.ok(isAppError(reason) && reason.code === 'inference_failed');
  t.same(session.batches, [2, 2, 2]);
  t.equal((await batcher.submit([image()])).length, 1, 'still serving');
});

t.test('a request that times out leaves the queue: its images never run', async (t) => {
  const { batcher, session, depths } = setup({ maxBatchSize: 4, maxDelayMs: 0 });
  session.hold();
  const blocker = batcher.submit([image(), image(), image(), image()]);
  const ctl = new AbortController();
  const late = batcher.submit([image(), image(), image()], ctl.signal);
  const other = batcher.submit([image()]);
  t.equal(batcher.queueDepth, 4);
  ctl.abort();
  const err = await late.catch((e: unknown) => e);
  t.ok(isAppError(err) && err.code === 'timeout' && err.status === 504);
  t.equal(batcher.queueDepth, 1, 'the aborted images left the queue');
  t.equal(depths.at(-1), 1, 'queue depth was reported');
  session.release();
  await blocker;
  t.equal((await other).length, 1);
  t.same(session.batches, [4, 1], 'the aborted images were never run');
});

t.test('an abort after the run started drops the answer, others still get theirs', async (t) => {
  const { batcher, session } = setup({ maxBatchSize: 4, maxDelayMs: 0 });
  session.hold();
  const ctl = new AbortController();
  const a = batcher.submit([image()], ctl.signal);
  await new Promise((r) => setImmediate(r));
  ctl.abort();
  await t.rejects(a, { code: 'timeout' });
  session.release();
  t.equal((await batcher.submit([image()])).length, 1);
});

t.test('drain sends queued work at once; close refuses new work', async (t) => {
  const { batcher, session } = setup({ maxBatchSize: 64, maxDelayMs: 60_000 });
  const pending = batcher.submit([image(), image()]);
  await batcher.drain();
  t.equal((await pending).length, 2);
  t.same(session.batches, [2]);
  t.equal((await batcher.submit([image()])).length, 1, 'after drain, admitted requests still run (no delay)');
  await batcher.close();
  await t.rejects(batcher.submit([image()]), { code: 'shutting_down' });
});
