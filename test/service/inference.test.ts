import t from 'tap';
import onnxProto from 'onnx-proto';
import { describeModel, ModelFileError } from '../../src/inference/model-file.js';
import { FeedError, NoProviderError, OrtModelSession } from '../../src/inference/ort-session.js';
import { WorkerPoolSession } from '../../src/inference/worker-pool.js';
import { buildTinyModel, seededRandom, TINY_MODEL_CARD } from './helpers/tiny-model.js';

const bytes = buildTinyModel();
const rand = seededRandom(Date.now() >>> 0);
const randomImages = (n: number) => Float32Array.from({ length: n * 784 }, () => rand());

t.test('describeModel reads the contract and card from the file', async (t) => {
  const d = describeModel(bytes);
  t.same(d.metadata, TINY_MODEL_CARD);
  t.equal(d.inputName, 'input');
  t.same(d.inputs, [{ name: 'input', type: 'float32', shape: ['N', 1, 28, 28] }]);
  t.same(d.outputs.map((o) => o.name), ['logits', 'probabilities']);
  t.equal(d.probabilitiesOutput, 'probabilities');
  t.equal(d.softmaxApplied, false);
  t.equal(d.classes, 10);
  t.match(d.sha256, /^[0-9a-f]{64}$/);
  t.equal(describeModel(buildTinyModel({ inputName: 'pixels' })).inputName, 'pixels', 'input name is read, not assumed');
  t.throws(() => describeModel(new Uint8Array([1, 2, 3, 4, 5])), ModelFileError);
});

t.test('provider fallback: cuda,cpu -> cpu with the reason cuda failed', async (t) => {
  const s = await OrtModelSession.create(bytes, { providers: ['cuda', 'cpu'], intraOpThreads: 1 });
  t.teardown(() => s.dispose());
  t.equal(s.provider, 'cpu');
  t.equal(s.attempts.length, 2);
  t.same(s.attempts.map((a) => [a.provider, a.ok]), [['cuda', false], ['cpu', true]]);
  t.ok(s.attempts[0].error && s.attempts[0].error.length > 0, `cuda failure is explained: ${s.attempts[0].error}`);
});

t.test('provider fallback: only cuda on a machine without it -> NoProviderError naming it', async (t) => {
  const err = await OrtModelSession.create(bytes, { providers: ['cuda'], intraOpThreads: 1 }).catch((e: unknown) => e);
  t.ok(err instanceof NoProviderError);
  t.match((err as Error).message, /cuda/);
});

t.test('run: probabilities per image, feeds checked at the boundary naming the tensor', async (t) => {
  const s = await OrtModelSession.create(bytes, { providers: ['cpu'], intraOpThreads: 1 });
  t.teardown(() => s.dispose());
  const n = 1 + Math.floor(rand() * 7);
  const { probabilities } = await s.run(randomImages(n), n);
  t.equal(probabilities.length, n * 10);
  for (let r = 0; r < n; r++) {
    const sum = probabilities.slice(r * 10, r * 10 + 10).reduce((a, b) => a + b, 0);
    t.ok(Math.abs(sum - 1) < 1e-5, `row ${r} sums to 1`);
  }
  await t.rejects(s.run(new Float32Array(100), 1), FeedError);
  await t.rejects(s.run(new Float32Array(784), 1.5), /input "input"/);
});

t.test('a logits-only model gets softmax applied by the service', async (t) => {
  const { onnx } = onnxProto;
  const m = onnx.ModelProto.decode(bytes);
  m.graph!.node = m.graph!.node!.filter((node) => node.opType !== 'Softmax');
  m.graph!.output = m.graph!.output!.filter((o) => o.name === 'logits');
  const logitsOnly = onnx.ModelProto.encode(m).finish();
  const a = await OrtModelSession.create(logitsOnly, { providers: ['cpu'], intraOpThreads: 1 });
  const b = await OrtModelSession.create(bytes, { providers: ['cpu'], intraOpThreads: 1 });
  t.teardown(async () => { await a.dispose(); await b.dispose(); });
  t.equal(a.description.softmaxApplied, true);
  const x = randomImages(3);
  const pa = (await a.run(x, 3)).probabilities;
  const pb = (await b.run(x, 3)).probabilities;
  t.ok(pa.every((v, i) => Math.abs(v - pb[i]) < 1e-5), 'same probabilities as the model with Softmax');
});

t.test('worker pool: same answers as in-thread, survives a worker crash', async (t) => {
  const pool = await WorkerPoolSession.create({ modelBytes: bytes, providers: ['cuda', 'cpu'], intraOpThreads: 1, workers: 2 });
  const local = await OrtModelSession.create(bytes, { providers: ['cpu'], intraOpThreads: 1 });
  t.teardown(async () => { await pool.dispose(); await local.dispose(); });
  t.equal(pool.provider, 'cpu');
  t.same(pool.attempts.map((a) => a.ok), [false, true]);
  t.same(pool.description.metadata, TINY_MODEL_CARD);
  const x = randomImages(5);
  const [p1, p2] = await Promise.all([pool.run(x, 5), pool.run(x.subarray(0, 784), 1)]);
  const ref = (await local.run(x, 5)).probabilities;
  t.ok(p1.probabilities.every((v, i) => Math.abs(v - ref[i]) < 1e-6));
  t.ok(p2.probabilities.every((v, i) => Math.abs(v - ref[i]) < 1e-6));
  t.equal(x.length, 5 * 784, 'the caller keeps its buffer (copy is transferred, not the original)');
  await t.rejects(pool.run(new Float32Array(3), 1), /input "input"/, 'worker-side feed errors come back as rejections');

  await pool.crashOneWorkerForTest();
  const after = await pool.run(x, 5);
  t.ok(after.probabilities.every((v, i) => Math.abs(v - ref[i]) < 1e-6), 'still answering after a worker died');
});

t.test('worker pool: model that cannot load rejects create', async (t) => {
  await t.rejects(WorkerPoolSession.create({ modelBytes: bytes, providers: ['cuda'], intraOpThreads: 1, workers: 1 }), NoProviderError);
  await t.rejects(WorkerPoolSession.create({ modelBytes: new Uint8Array([9, 9, 9]), providers: ['cpu'], intraOpThreads: 1, workers: 1 }), /ONNX|protobuf|model/i);
});
