import t, { type Test } from 'tap';
import sharp from 'sharp';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { OrtModelSession } from '../../src/inference/ort-session.js';
import { preprocessImage } from '../../src/preprocess/index.js';
import { build, tinyModelFile } from './helpers/app.js';
import { encodeKind, IMAGE_KINDS, renderDigit, VARIANTS } from './helpers/images.js';
import { loadMnistTest, mnistDigit } from './helpers/mnist.js';
import { imageParts, multipartBody } from './helpers/multipart.js';
import { specMismatch } from './helpers/openapi.js';
import { buildTinyModel, seededRandom, TINY_MODEL_CARD } from './helpers/tiny-model.js';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';

const seed = Date.now() >>> 0;
const rand = seededRandom(seed);
const mnist = loadMnistTest(300);
const randomDigit = () => mnistDigit(mnist, Math.floor(rand() * mnist.count));

interface PredictionBody {
  index: number; filename?: string; digit: number; confidence: number; probabilities: number[];
  top: Array<{ digit: number; probability: number }>; unsure: boolean; blank: boolean; input_png?: string;
}
interface PredictBody { model: { name: string; version: string; sha256: string }; provider: string; predictions: PredictionBody[] }

function conforms(t: Test, res: LightMyRequestResponse, path = '/predict', method = 'POST') {
  const m = specMismatch(method, path, res);
  t.equal(m, '', `${method} ${path} ${res.statusCode} matches openapi.yaml`);
}

const ort = await OrtModelSession.create(buildTinyModel(), { providers: ['cpu'], intraOpThreads: 1 });
t.teardown(() => ort.dispose());
async function expected(bytes: Buffer, mode: 'auto' | 'none' = 'auto'): Promise<Float32Array> {
  const p = await preprocessImage(bytes, { mode, maxPixels: 4_000_000 });
  return (await ort.run(p.pixels, 1)).probabilities;
}
function sameProbs(t: Test, got: number[], want: Float32Array, what: string) {
  t.ok(got.every((v, i) => Math.abs(v - want[i]) < 1e-5), `${what} (seed ${seed})`);
}

let app: FastifyInstance;
const modelPath = tinyModelFile();
t.before(async () => {
  app = await build(t, { MODEL_PATH: modelPath, MAX_FILES: 16, BATCH_MAX_SIZE: 4, EXECUTION_PROVIDERS: 'cuda,cpu' });
});

t.test('raw image/png body', async (t) => {
  const png = await renderDigit(randomDigit(), 'big-offcentre', rand);
  const res = await app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': 'image/png' }, payload: png });
  t.equal(res.statusCode, 200);
  conforms(t, res);
  const body = res.json<PredictBody>();
  t.same(body.model, { name: TINY_MODEL_CARD.name, version: TINY_MODEL_CARD.version, sha256: createHash('sha256').update(readFileSync(modelPath)).digest('hex') });
  t.equal(body.provider, 'cpu', 'cuda,cpu fell back to cpu');
  t.equal(body.predictions.length, 1);
  const p = body.predictions[0];
  sameProbs(t, p.probabilities, await expected(png), 'probabilities are those of the preprocessed image');
  t.equal(p.digit, p.probabilities.indexOf(Math.max(...p.probabilities)));
  t.equal(p.confidence, p.probabilities[p.digit]);
  t.equal(p.top.length, 3, 'default topk is 3');
  t.equal(p.unsure, p.confidence < 0.5, 'unsure below UNSURE_THRESHOLD');
  t.notOk('input_png' in p);
  t.match(res.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'every response names its request id');
  const named = await app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': 'image/png', 'x-request-id': 'my-trace-42' }, payload: png });
  t.equal(named.headers['x-request-id'], 'my-trace-42', 'a client-chosen id is kept');
});

t.test('multipart: several files, any field name, text fields ignored, request order kept', async (t) => {
  const pngs = await Promise.all(Array.from({ length: 6 }, (_, i) => renderDigit(randomDigit(), VARIANTS[i % VARIANTS.length], rand)));
  const parts = imageParts(pngs);
  parts[2].name = 'other-field';
  parts.splice(1, 0, { name: 'note', data: 'not an image' });
  const { body, contentType } = multipartBody(parts);
  const res = await app.inject({ method: 'POST', url: '/predict?topk=10', headers: { 'content-type': contentType }, payload: body });
  t.equal(res.statusCode, 200, res.body.slice(0, 300));
  conforms(t, res);
  const preds = res.json<PredictBody>().predictions;
  t.same(preds.map((p) => p.index), [0, 1, 2, 3, 4, 5]);
  t.same(preds.map((p) => p.filename), pngs.map((_, i) => `digit-${i}.png`));
  for (const [i, p] of preds.entries()) {
    sameProbs(t, p.probabilities, await expected(pngs[i]), `image ${i} answered with its own probabilities`);
    t.equal(p.top.length, 10);
    t.same(p.top.map((x) => x.probability), [...p.top.map((x) => x.probability)].sort((a, b) => b - a), 'top is sorted');
  }
});

t.test('JSON base64 (plain and data: URL)', async (t) => {
  const pngs = await Promise.all([renderDigit(randomDigit(), 'inverted'), renderDigit(randomDigit(), 'transparent')]);
  const images = [pngs[0].toString('base64'), `data:image/png;base64,${pngs[1].toString('base64')}`];
  const res = await app.inject({ method: 'POST', url: '/predict?topk=1', payload: { images } });
  t.equal(res.statusCode, 200);
  conforms(t, res);
  const preds = res.json<PredictBody>().predictions;
  t.equal(preds.length, 2);
  for (const [i, p] of preds.entries()) {
    sameProbs(t, p.probabilities, await expected(pngs[i]), `image ${i}`);
    t.equal(p.top.length, 1);
    t.notOk('filename' in p);
  }
});

t.test('every image kind is accepted; the type comes from the bytes, not the name or header', async (t) => {
  const digit = randomDigit();
  const files = await Promise.all(IMAGE_KINDS.map((k) => encodeKind(digit, k)));
  const { body, contentType } = multipartBody(files.map((data, i) => ({ name: 'image', filename: `${IMAGE_KINDS[i]}.txt`, contentType: 'text/plain', data })));
  const res = await app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': contentType }, payload: body });
  t.equal(res.statusCode, 200, res.body.slice(0, 300));
  conforms(t, res);
  const preds = res.json<PredictBody>().predictions;
  for (const [i, p] of preds.entries()) sameProbs(t, p.probabilities, await expected(files[i]), IMAGE_KINDS[i]);
  const jpeg = files[IMAGE_KINDS.indexOf('jpeg')];
  const asPng = await app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': 'image/png' }, payload: jpeg });
  t.equal(asPng.statusCode, 200, 'a JPEG sent as image/png is still read as JPEG');
});

t.test('debug=1 adds input_png: the 28×28 model input', async (t) => {
  const png = await renderDigit(randomDigit(), 'big-offcentre', rand);
  const res = await app.inject({ method: 'POST', url: '/predict?debug=1', headers: { 'content-type': 'image/png' }, payload: png });
  t.equal(res.statusCode, 200);
  conforms(t, res);
  const p = res.json<PredictBody>().predictions[0];
  t.type(p.input_png, 'string');
  const decoded = Buffer.from(p.input_png!, 'base64');
  const { data, info } = await sharp(decoded).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
  t.same([info.width, info.height], [28, 28]);
  const pre = await preprocessImage(png, { mode: 'auto', maxPixels: 4_000_000 });
  t.ok(Array.from(data).every((v, i) => v === Math.round(pre.pixels[i] * 255)), 'input_png shows exactly what the model saw');
});

t.test('preprocess=none uses a 28×28 MNIST-style image as is; other sizes are 422', async (t) => {
  const png = await renderDigit(randomDigit(), 'plain');
  const res = await app.inject({ method: 'POST', url: '/predict?preprocess=none', headers: { 'content-type': 'image/png' }, payload: png });
  t.equal(res.statusCode, 200);
  sameProbs(t, res.json<PredictBody>().predictions[0].probabilities, await expected(png, 'none'), 'none mode probabilities');
  const big = await renderDigit(randomDigit(), 'big-offcentre', rand);
  const bad = await app.inject({ method: 'POST', url: '/predict?preprocess=none', headers: { 'content-type': 'image/png' }, payload: big });
  t.equal(bad.statusCode, 422);
  t.equal(bad.json().error.code, 'wrong_size');
  conforms(t, bad);
});

t.test('a blank image is answered with unsure: true', async (t) => {
  const white = await sharp({ create: { width: 200, height: 120, channels: 3, background: '#ffffff' } }).png().toBuffer();
  const res = await app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': 'image/png' }, payload: white });
  t.equal(res.statusCode, 200);
  conforms(t, res);
  const p = res.json<PredictBody>().predictions[0];
  t.equal(p.unsure, true);
  t.equal(p.blank, true);
});

t.test('query validation: bad topk / preprocess / debug / unknown parameter -> 400 naming it', async (t) => {
  const png = await renderDigit(randomDigit(), 'plain');
  for (const [q, field] of [['topk=0', 'topk'], ['topk=11', 'topk'], ['topk=two', 'topk'], ['preprocess=maybe', 'preprocess'], ['debug=yes', 'debug'], ['color=red', 'color']]) {
    const res = await app.inject({ method: 'POST', url: `/predict?${q}`, headers: { 'content-type': 'image/png' }, payload: png });
    t.equal(res.statusCode, 400, q);
    t.equal(res.json().error.code, 'invalid_request');
    t.match(res.json().error.message, field);
    conforms(t, res);
  }
});

t.test('results do not depend on which requests share a batch', async (t) => {
  const pngs = await Promise.all(Array.from({ length: 10 }, () => renderDigit(randomDigit(), 'plain')));
  const answers = await Promise.all(pngs.map((png) => app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': 'image/png' }, payload: png })));
  for (const [i, res] of answers.entries()) {
    t.equal(res.statusCode, 200);
    sameProbs(t, res.json<PredictBody>().predictions[0].probabilities, await expected(pngs[i]), `concurrent request ${i}`);
  }
});

t.test('API_KEY: /predict needs the bearer key, probes stay open', async (t) => {
  const keyed = await build(t, { MODEL_PATH: modelPath, API_KEY: 'correct-horse-battery' });
  const png = await renderDigit(randomDigit(), 'plain');
  const send = (auth?: string) => keyed.inject({ method: 'POST', url: '/predict', headers: { 'content-type': 'image/png', ...(auth ? { authorization: auth } : {}) }, payload: png });
  for (const auth of [undefined, 'Bearer wrong-key-value', 'Basic Y29ycmVjdA==', 'correct-horse-battery']) {
    const res = await send(auth);
    t.equal(res.statusCode, 401, `auth ${auth ?? '(none)'}`);
    t.equal(res.json().error.code, 'unauthorized');
    t.equal(res.headers['www-authenticate'], 'Bearer');
    conforms(t, res);
  }
  t.equal((await send('Bearer correct-horse-battery')).statusCode, 200);
  for (const url of ['/healthz', '/readyz', '/metrics', '/v1/models', '/openapi.yaml']) t.equal((await keyed.inject(url)).statusCode, 200, `${url} is open`);
});
