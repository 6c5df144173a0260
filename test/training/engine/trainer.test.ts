// The Trainer end to end on real MNIST images: loss falls, runs are bit-identical, save ->
// restore -> continue equals not stopping (with dropout), predict and the exported model agree.
import t from 'tap';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { decodeModel } from '../../../training/onnx/serialize.js';
import type { ArchConfig } from '../../../training/nn/arch.js';
import { Trainer, type TrainerOptions } from '../../../training/runner/trainer.js';
import { mnistSlice } from './helpers/mnist-slice.js';
import { EVERY_BLOCK_ARCH } from './helpers/archs.js';

const tiny: ArchConfig = {
  name: 'tiny', inputShape: [1, 28, 28], stem: { out: 8, k: 3 }, activation: 'relu', classes: 10, headDropout: 0.1,
  blocks: [
    { kind: 'separable', out: 16, k: 3, dilation: 2 },
    { kind: 'maxpool', k: 2 },
    { kind: 'dropout', p: 0.1 },
    { kind: 'separable', out: 16, k: 3, dilation: 3 },
    { kind: 'maxpool', k: 3 },
  ],
};
const B = 32;
const data = mnistSlice(4 * B);
const batch = (i: number) => ({ x: data.x.subarray((i % 4) * B * 784, ((i % 4) + 1) * B * 784), y: data.y.subarray((i % 4) * B, ((i % 4) + 1) * B) });
const opts = (over: Partial<TrainerOptions> = {}): TrainerOptions => ({
  arch: tiny, optimizer: { kind: 'adamw', weightDecay: 0.01 }, batchSize: B, seed: 42, intraOpThreads: 1, ...over,
});

async function run(tr: Trainer, from: number, steps: number, lr = 3e-3): Promise<number[]> {
  const losses: number[] = [];
  for (let s = from; s < from + steps; s++) {
    const { x, y } = batch(s);
    losses.push((await tr.trainStep(x, y, lr)).loss);
  }
  return losses;
}

t.test('loss of a small separable-dilated net falls on a fixed MNIST slice within a few steps', async (t) => {
  const tr = await Trainer.create(opts());
  const losses = await run(tr, 0, 24, 1e-2); // 6 passes over the same 4 batches
  for (let b = 0; b < 4; b++) t.ok(losses[20 + b] < losses[b], `batch ${b}: loss ${losses[b].toFixed(3)} at pass 1 -> ${losses[20 + b].toFixed(3)} at pass 6`);
  const mean = (xs: number[]) => xs.reduce((a, c) => a + c) / xs.length;
  t.ok(mean(losses.slice(20)) < 0.9 * mean(losses.slice(0, 4)), 'mean loss of the last pass is at least 10% below the first');
  t.equal(tr.step, 24);
  await tr.dispose();
});

t.test('same seed, one thread: bit-identical loss curves', async (t) => {
  const [a, b] = await Promise.all([Trainer.create(opts()), Trainer.create(opts())]);
  const la = await run(a, 0, 5);
  const lb = await run(b, 0, 5);
  t.same(la, lb);
  const c = await Trainer.create(opts({ seed: 43 }));
  t.not((await run(c, 0, 1))[0], la[0], 'another seed gives another init');
  await Promise.all([a.dispose(), b.dispose(), c.dispose()]);
});

for (const kind of ['adamw', 'sgd'] as const) {
  t.test(`save -> restore into a new trainer -> continue == not stopping (${kind}, dropout on)`, async (t) => {
    const o = opts({ optimizer: { kind, weightDecay: 0.01, momentum: 0.9, clipGlobalNorm: 5 } });
    const straight = await Trainer.create(o);
    const ls = await run(straight, 0, 6);
    const first = await Trainer.create(o);
    await run(first, 0, 3);
    const saved = first.getState();
    await first.dispose();
    const resumed = await Trainer.create(o); // fresh init at step 0, replaced by setState
    resumed.setState(saved);
    t.equal(resumed.step, 3);
    const lr = await run(resumed, 3, 3);
    t.same(lr, ls.slice(3), 'losses after the restore are bit-identical');
    const a = straight.getState().tensors;
    const b = resumed.getState().tensors;
    t.same(Object.keys(b).sort(), Object.keys(a).sort());
    t.ok(Object.keys(a).every((k) => a[k].data.every((v, i) => Object.is(v, b[k].data[i]))), 'every param, optimizer state and BN stat is bit-identical');
    await Promise.all([straight.dispose(), resumed.dispose()]);
  });
}

t.test('state holds params, optimizer state and BN running stats; setState rejects bad input', async (t) => {
  const tr = await Trainer.create(opts());
  const s = tr.getState();
  t.ok(s.tensors['stem.conv.weight'] && s.tensors['stem.conv.weight.adam_m'] && s.tensors['stem.bn.running_var']);
  t.same(tr.paramShapes['blocks.0.dw.weight'], [8, 1, 3, 3]);
  t.same(tr.paramShapes['blocks.0.pw.weight'], [16, 8, 1, 1]);
  t.same(tr.paramShapes['head.fc.weight'], [10, 16]);
  const missing = { step: 0, tensors: { ...s.tensors } };
  delete missing.tensors['head.fc.bias'];
  t.throws(() => tr.setState(missing), /no tensor head\.fc\.bias/);
  t.throws(() => tr.setState({ step: 0, tensors: { ...s.tensors, 'head.fc.bias': { shape: [3], data: new Float32Array(3) } } }), /head\.fc\.bias has shape \[3\]/);
  t.throws(() => tr.setState({ step: 0, tensors: { ...s.tensors, 'nope.weight': { shape: [1], data: new Float32Array(1) } } }), /nope\.weight is not part/);
  const noOpt = { step: 2, tensors: Object.fromEntries(Object.entries(s.tensors).filter(([k]) => !k.endsWith('.adam_m'))) };
  tr.setState(noOpt);
  t.equal(tr.step, 2, 'missing optimizer state starts from zero');
  await t.rejects(tr.trainStep(new Float32Array(10), new Int32Array(B), 1e-3), /Float32Array of 32×1×28×28/);
  await t.rejects(tr.trainStep(batch(0).x, new Int32Array(B).fill(10), 1e-3), /label 10 is outside/);
  await t.rejects(tr.trainStep(batch(0).x, batch(0).y, Number.NaN), /lr must be/);
  await tr.dispose();
  await t.rejects(tr.predict(batch(0).x, B), /disposed/);
});

t.test('predict is eval mode; the exported model agrees with it (folded and unfolded)', async (t) => {
  const tr = await Trainer.create(opts());
  await run(tr, 0, 4);
  const n = 7;
  const x = data.x.subarray(0, n * 784);
  const p1 = await tr.predict(x, n);
  const p2 = await tr.predict(x, n);
  t.same(p1, p2, 'no dropout or batch statistics in eval mode');
  t.equal(p1.length, n * 10);
  for (const fold of [true, false]) {
    const bytes = tr.buildEvalModel({ foldBatchNorm: fold, metadata: { version: '1', dataset: 'mnist-test-slice' } });
    const model = decodeModel(bytes);
    t.same(model.metadataProps.map((m) => [m.key, m.value]), [['version', '1'], ['dataset', 'mnist-test-slice']]);
    t.equal((model.graph?.node ?? []).some((nd) => nd.opType === 'BatchNormalization'), !fold, `BatchNormalization nodes present: ${!fold}`);
    const s = await InferenceSession.create(bytes);
    t.same(s.inputNames, ['input']);
    t.same(s.outputNames, ['logits', 'probabilities']);
    for (const m of [n, 1]) {
      const out = await s.run({ input: new Tensor('float32', x.slice(0, m * 784), [m, 1, 28, 28]) });
      const logits = out.logits.data as Float32Array;
      let worst = 0;
      for (let i = 0; i < m * 10; i++) worst = Math.max(worst, Math.abs(logits[i] - p1[i]) / Math.max(1, Math.abs(p1[i])));
      t.ok(worst < 1e-5, `fold=${fold} N=${m}: max deviation from predict ${worst.toExponential(2)} < 1e-5`);
      const probs = out.probabilities.data as Float32Array;
      for (let r = 0; r < m; r++) t.ok(Math.abs(probs.subarray(r * 10, r * 10 + 10).reduce((a, b) => a + b) - 1) < 1e-5);
    }
    await s.release();
  }
  await tr.dispose();
});

t.test('freezeBatchNormStats: frozen BN layers keep their running stats; the head still trains', async (t) => {
  const tr = await Trainer.create(opts({ frozen: (name) => !name.startsWith('head.'), freezeBatchNormStats: true }));
  const before = tr.getState().tensors;
  await run(tr, 0, 2);
  const after = tr.getState().tensors;
  for (const k of Object.keys(before).filter((n) => n.includes('running_'))) t.same(after[k].data, before[k].data, `${k} unchanged`);
  t.notSame(after['head.fc.weight'].data, before['head.fc.weight'].data);
  await tr.dispose();
});

t.test('frozen params stay put; the rest trains', async (t) => {
  const tr = await Trainer.create(opts({ frozen: (name) => !name.startsWith('head.') }));
  const before = tr.getState().tensors;
  await run(tr, 0, 2);
  const after = tr.getState().tensors;
  t.same(after['stem.conv.weight'].data, before['stem.conv.weight'].data);
  t.notSame(after['head.fc.weight'].data, before['head.fc.weight'].data);
  t.notSame(after['stem.bn.running_mean'].data, before['stem.bn.running_mean'].data, 'BN running stats still update');
  await tr.dispose();
});

t.test('every block kind runs: conv blocks, stride 2, dw-norm, 3×3 pool, GELU, SGD nesterov; export agrees', async (t) => {
  const arch = EVERY_BLOCK_ARCH;
  const tr = await Trainer.create(opts({ arch, batchSize: 8, optimizer: { kind: 'sgd', weightDecay: 1e-4, nesterov: true } }));
  for (let s = 0; s < 3; s++) {
    const r = await tr.trainStep(data.x.subarray(s * 8 * 784, (s + 1) * 8 * 784), data.y.subarray(s * 8, (s + 1) * 8), 0.05);
    t.ok(Number.isFinite(r.loss) && r.correct >= 0 && r.correct <= 8, `step ${s + 1}: loss ${r.loss.toFixed(3)}`);
  }
  const x = data.x.subarray(0, 3 * 784);
  const p = await tr.predict(x, 3);
  const s = await InferenceSession.create(tr.buildEvalModel());
  const logits = (await s.run({ input: new Tensor('float32', x.slice(), [3, 1, 28, 28]) })).logits.data as Float32Array;
  t.ok(logits.every((v, i) => Math.abs(v - p[i]) <= 1e-5 * Math.max(1, Math.abs(p[i]))), 'folded export == predict');
  await s.release();
  await tr.dispose();
});
