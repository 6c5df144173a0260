// Probes, metadata, metrics, the OpenAPI document, and the model lifecycle as clients see it:
// loading, failed, overloaded, timed out, inference failure, draining.
import t, { type Test } from 'tap';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { parse } from 'yaml';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../../src/app.js';
import type { ModelSession } from '../../src/inference/model-session.js';
import { build, testConfig, tinyModelFile } from './helpers/app.js';
import { renderDigit } from './helpers/images.js';
import { loadMnistTest, mnistDigit } from './helpers/mnist.js';
import { spec, specMismatch } from './helpers/openapi.js';
import { ControlledSession, until } from './helpers/sessions.js';
import { TINY_MODEL_CARD } from './helpers/tiny-model.js';

const mnist = loadMnistTest(20);
const png = await renderDigit(mnistDigit(mnist, 3), 'inverted');
const predict = (app: FastifyInstance, images = 1) => app.inject({
  method: 'POST', url: '/predict', payload: { images: Array(images).fill(png.toString('base64')) },
});

function conforms(t: Test, res: LightMyRequestResponse, method: string, path: string) {
  t.equal(specMismatch(method, path, res), '', `${method} ${path} ${res.statusCode} matches openapi.yaml`);
}


/** Not serving (loading, draining): readyz says why, /predict answers a retryable 503 with `code`. */
async function expectNotServing(t: Test, app: FastifyInstance, status: string, code: string) {
  const ready = await app.inject('/readyz');
  t.equal(ready.statusCode, 503);
  t.equal(ready.json().status, status);
  conforms(t, ready, 'GET', '/readyz');
  const res = await predict(app);
  t.equal(res.statusCode, 503);
  t.equal(res.json().error.code, code);
  t.equal(res.headers['retry-after'], '1');
  conforms(t, res, 'POST', '/predict');
}

t.test('probes, /v1/models, /metrics, /openapi.yaml on a ready app', async (t) => {
  const app = await build(t, { EXECUTION_PROVIDERS: 'cuda,cpu' });
  const health = await app.inject('/healthz');
  t.equal(health.statusCode, 200);
  conforms(t, health, 'GET', '/healthz');

  const ready = await app.inject('/readyz');
  t.equal(ready.statusCode, 200);
  t.equal(ready.json().provider, 'cpu');
  conforms(t, ready, 'GET', '/readyz');

  const models = await app.inject('/v1/models');
  t.equal(models.statusCode, 200);
  conforms(t, models, 'GET', '/v1/models');
  const m = models.json().models[0];
  t.same(m.card, TINY_MODEL_CARD, 'the card comes from metadata_props');
  t.same(m.inputs, [{ name: 'input', type: 'float32', shape: ['N', 1, 28, 28] }]);
  t.same(m.outputs.map((o: { shape: unknown }) => o.shape), [['N', 10], ['N', 10]]);
  t.equal(m.provider, 'cpu');
  t.notOk('model_card' in m, 'no structured card in a model without one');

  const withCard = await build(t, { MODEL_PATH: tinyModelFile({ metadata: { name: 'carded', version: '2', model_card: JSON.stringify({ name: 'carded', parameters: 123 }) } }) });
  const carded = await withCard.inject('/v1/models');
  conforms(t, carded, 'GET', '/v1/models');
  t.same(carded.json().models[0].model_card, { name: 'carded', parameters: 123 }, 'metadata_props model_card JSON is parsed');

  t.equal((await predict(app, 2)).statusCode, 200);
  t.equal((await app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': 'text/plain' }, payload: 'x' })).statusCode, 415);

  const metrics = await app.inject('/metrics');
  t.equal(metrics.statusCode, 200);
  conforms(t, metrics, 'GET', '/metrics');
  const text = metrics.body;
  for (const name of ['http_request_duration_seconds_bucket', 'inference_batch_size_bucket', 'inference_duration_seconds_bucket',
    'inference_queue_depth', 'preprocess_duration_seconds_bucket', 'predictions_total', 'rejections_total', 'model_info',
    'service_ready 1', 'process_cpu_user_seconds_total', 'nodejs_eventloop_lag_seconds']) {
    t.match(text, name, `metric ${name}`);
  }
  t.match(text, /http_request_duration_seconds_count\{method="POST",route="\/predict",status_code="200"\} 1/);
  t.match(text, /rejections_total\{reason="unsupported_media_type"\} 1/);
  t.match(text, /model_info\{[^}]*provider="cpu"[^}]*\} 1/);
  const predicted = [...text.matchAll(/predictions_total\{digit="\d"\} (\d+)/g)].reduce((a, x) => a + Number(x[1]), 0);
  t.equal(predicted, 2, 'one prediction counted per image');

  const doc = await app.inject('/openapi.yaml');
  t.equal(doc.statusCode, 200);
  conforms(t, doc, 'GET', '/openapi.yaml');
  t.same(parse(doc.body), spec, 'serves the committed document');
  t.equal(spec.openapi, '3.1.0');
});

t.test('every route the app registers is described in openapi.yaml, and every path there exists', async (t) => {
  const app = await build(t);
  const paths = spec.paths as Record<string, Record<string, unknown>>;
  for (const r of app.routeTable) {
    if (r.method === 'HEAD' || r.method === 'OPTIONS') continue;
    // static files of the page (index.html, app.js, ...) are described by "/"
    if (/\.[a-z]+$/i.test(r.url) && r.url !== '/openapi.yaml') continue;
    t.ok(paths[r.url]?.[r.method.toLowerCase()], `${r.method} ${r.url} is in openapi.yaml`);
  }
  for (const [path, ops] of Object.entries(paths)) {
    for (const method of Object.keys(ops)) {
      t.ok(app.routeTable.some((r) => r.url === path && r.method === method.toUpperCase()), `${method.toUpperCase()} ${path} exists`);
    }
  }
  const page = await app.inject('/');
  conforms(t, page, 'GET', '/');
});

t.test('while loading: healthz 200, readyz 503, /predict 503 not_ready with Retry-After', async (t) => {
  let open!: (s: ModelSession) => void;
  const opening = new Promise<ModelSession>((r) => { open = r; });
  const app = await buildApp(testConfig(), { openSession: () => opening });
  t.teardown(() => app.close());
  t.equal((await app.inject('/healthz')).statusCode, 200);
  await expectNotServing(t, app, 'loading', 'not_ready');
  const models = await app.inject('/v1/models');
  t.equal(models.statusCode, 503);
  conforms(t, models, 'GET', '/v1/models');
  open(await ControlledSession.create());
  await app.host.loaded;
  t.equal((await app.inject('/readyz')).statusCode, 200, 'ready once loaded and warmed');
  t.equal((await predict(app)).statusCode, 200);
});

t.test('a model that fails to load keeps readyz at 503 with the reason', async (t) => {
  const app = await buildApp(testConfig({ MODEL_PATH: '/nonexistent/model.onnx' }));
  t.teardown(() => app.close());
  await t.rejects(app.host.loaded, /ENOENT|no such file/);
  const ready = await app.inject('/readyz');
  t.equal(ready.statusCode, 503);
  t.equal(ready.json().status, 'failed');
  t.match(ready.json().reason, /nonexistent/);
  conforms(t, ready, 'GET', '/readyz');
  t.equal((await app.inject('/healthz')).statusCode, 200);
});

t.test('warm-up runs one batch per power of two up to BATCH_MAX_SIZE before ready', async (t) => {
  const session = await ControlledSession.create();
  const app = await build(t, { BATCH_MAX_SIZE: 12 }, { openSession: async () => session });
  t.same(session.batches, [1, 2, 4, 8, 12]);
  t.equal(app.host.state, 'ready');
});

t.test('queue full over HTTP -> 503 overloaded with Retry-After; the others still succeed', async (t) => {
  const session = await ControlledSession.create();
  const app = await build(t, { BATCH_MAX_SIZE: 2, BATCH_MAX_DELAY_MS: 0, QUEUE_MAX: 2 }, { openSession: async () => session });
  session.hold();
  const a = predict(app, 2); // in flight, held
  await until(() => app.host.batcher!.runsInFlight === 1, 'the first batch to start');
  const b = predict(app, 2); // fills the queue
  await until(() => app.host.batcher!.queueDepth === 2, 'the queue to fill');
  const c = await predict(app, 1);
  t.equal(c.statusCode, 503);
  t.equal(c.json().error.code, 'overloaded');
  t.equal(c.headers['retry-after'], '1');
  conforms(t, c, 'POST', '/predict');
  session.release();
  t.equal((await a).statusCode, 200);
  t.equal((await b).statusCode, 200);
  t.match((await app.inject('/metrics')).body, /rejections_total\{reason="overloaded"\} 1/);
});

t.test('a request over REQUEST_TIMEOUT_MS gets 504 and its images leave the queue', async (t) => {
  const session = await ControlledSession.create();
  const app = await build(t, { BATCH_MAX_SIZE: 2, BATCH_MAX_DELAY_MS: 0, REQUEST_TIMEOUT_MS: 200 }, { openSession: async () => session });
  const warm = session.batches.length;
  session.hold();
  const first = predict(app, 2); // holds the only run slot
  await until(() => app.host.batcher!.runsInFlight === 1, 'the first batch to start');
  const second = predict(app, 2); // waits in the queue until it times out
  const [r1, r2] = await Promise.all([first, second]);
  for (const r of [r1, r2]) {
    t.equal(r.statusCode, 504);
    t.equal(r.json().error.code, 'timeout');
    conforms(t, r, 'POST', '/predict');
  }
  t.equal(app.host.batcher!.queueDepth, 0, 'timed-out images were dropped from the queue');
  session.release();
  await until(() => app.host.batcher!.runsInFlight === 0, 'the held run to end');
  t.same(session.batches.slice(warm), [2], 'the queued request never ran');
  t.equal((await predict(app)).statusCode, 200, 'still answering');
});

t.test('on a real listening server too: the deadline answers 504; a client that leaves frees the queue', async (t) => {
  const session = await ControlledSession.create();
  const app = await build(t, { BATCH_MAX_SIZE: 2, BATCH_MAX_DELAY_MS: 0, REQUEST_TIMEOUT_MS: 300 }, { openSession: async () => session });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/predict`;
  const body = JSON.stringify({ images: [png.toString('base64'), png.toString('base64')] });
  const post = (signal?: AbortSignal) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal });
  session.hold();
  const first = post();
  await until(() => app.host.batcher!.runsInFlight === 1, 'the first batch to start');
  const res = await post();
  t.equal(res.status, 504, 'a queued request past its deadline gets 504 over HTTP');
  t.equal(((await res.json()) as { error: { code: string } }).error.code, 'timeout');
  t.equal((await first).status, 504);

  const leaving = new AbortController();
  const gone = post(leaving.signal).catch(() => 'aborted');
  await until(() => app.host.batcher!.queueDepth === 2, 'the leaving client to be queued');
  leaving.abort();
  t.equal(await gone, 'aborted');
  await until(() => app.host.batcher!.queueDepth === 0, 'its images to leave the queue');
  session.release();
  const ok = await post();
  t.equal(ok.status, 200, 'still answering');
});

t.test('an inference failure is a 500 without internals; the next request works', async (t) => {
  const session = await ControlledSession.create();
  const app = await build(t, {}, { openSession: async () => session });
  session.failAll = true;
  const res = await predict(app);
  t.equal(res.statusCode, 500);
  t.equal(res.json().error.code, 'inference_failed');
  t.notMatch(res.body, /secret internal detail/);
  t.match(res.json().error.message, /request id/);
  conforms(t, res, 'POST', '/predict');
  session.failAll = false;
  t.equal((await predict(app)).statusCode, 200);
});

t.test('draining: readyz 503, /predict 503 shutting_down, probes still answer', async (t) => {
  const app = await build(t);
  app.host.beginDrain();
  await expectNotServing(t, app, 'draining', 'shutting_down');
  t.equal((await app.inject('/healthz')).statusCode, 200);
  t.match((await app.inject('/metrics')).body, /service_ready 0/);
});
