import t from 'tap';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadRunConfig, toArch, listConfigs } from '../../../training/model/config.js';
import { summarize, standardTwin } from '../../../training/model/summary.js';
import { createTrainer } from '../../../training/pipeline/engine.js';
import { openOnnx, inspectOnnx } from '../../../training/pipeline/onnx-file.js';
import { buildExport, writeExport, cardFileFor } from '../../../training/pipeline/export.js';
import { loadMnist, fullView, subsetView, loadFolderDataset } from '../../../training/data/index.js';
import { evaluateModel } from '../../../training/pipeline/commands/evaluate.js';
import { epochBatches } from '../../../training/data/batches.js';
import { Rng } from '../../../training/data/rng.js';

const seed = Math.floor(Math.random() * 2 ** 31);
t.comment(`random seed ${seed}`);
const rng = new Rng(seed);
const smoke = loadRunConfig(new URL('./fixtures/smoke.yaml', import.meta.url).pathname);

t.test('summary parameter counts equal the engine\'s parameter shapes', async (t) => {
  for (const name of listConfigs()) {
    const arch = toArch(loadRunConfig(name));
    for (const a of [arch, standardTwin(arch)]) {
      const tr = await createTrainer({ arch: a, config: loadRunConfig(name), seed: 1, batchSize: 2 });
      const engine = Object.values(tr.paramShapes).reduce((s, sh) => s + sh.reduce((p, q) => p * q, 1), 0);
      t.equal(summarize(a).totals.params, engine, `${a.name}: ${engine} params`);
      await tr.dispose();
    }
  }
});

t.test('export: BN folded, dynamic batch, matches the training graph eval mode to 1e-4', async (t) => {
  const mnist = loadMnist('test');
  const view = subsetView(fullView(mnist), 640, seed);
  const tr = await createTrainer({ arch: toArch(smoke), config: smoke, seed, threads: 1 });
  // some real steps so BN running statistics and weights are far from their initial values
  let steps = 0;
  for (const b of epochBatches(view, smoke.train.batchSize, seed, 0, null)) { await tr.trainStep(b.x, b.y, 0.01); steps++; }
  t.ok(steps >= 10, `${steps} train steps`);
  const folded = tr.buildEvalModel({ foldBatchNorm: true });
  const unfolded = tr.buildEvalModel({ foldBatchNorm: false });
  const fi = inspectOnnx(folded), ui = inspectOnnx(unfolded);
  t.notOk(fi.opTypes.includes('BatchNormalization'), 'no BatchNormalization left after folding');
  t.ok(ui.opTypes.includes('BatchNormalization') || ui.opTypes.length > fi.opTypes.length, 'unfolded graph carries the BN ops');
  t.equal(fi.inputName, 'input');
  t.equal(typeof fi.inputDims[0], 'string', `batch dim is symbolic (${fi.inputDims[0]})`);
  t.same(fi.inputDims.slice(1), [1, 28, 28]);
  t.same(fi.outputNames.sort(), ['logits', 'probabilities']);
  const f = await openOnnx(folded, 1), u = await openOnnx(unfolded, 1);
  for (const n of [1, 7, 33]) {
    const x = new Float32Array(n * 784);
    for (let i = 0; i < x.length; i++) x[i] = rng.next();
    const want = await tr.predict(x, n);
    const got = await f.logits(x, n);
    const gotU = await u.logits(x, n);
    const probs = await f.probabilities(x, n);
    t.equal(got.length, n * 10);
    let dF = 0, dU = 0, dP = 0;
    for (let i = 0; i < want.length; i++) { dF = Math.max(dF, Math.abs(got[i]! - want[i]!)); dU = Math.max(dU, Math.abs(gotU[i]! - want[i]!)); }
    for (let r = 0; r < n; r++) {
      const row = got.subarray(r * 10, r * 10 + 10);
      const m = Math.max(...row);
      const z = row.reduce((a, v) => a + Math.exp(v - m), 0);
      for (let k = 0; k < 10; k++) dP = Math.max(dP, Math.abs(probs[r * 10 + k]! - Math.exp(row[k]! - m) / z));
    }
    t.ok(dF <= 1e-4, `N=${n}: folded export vs training eval mode max |Δ| ${dF.toExponential(2)}`);
    t.ok(dU <= 1e-4, `N=${n}: unfolded export vs training eval mode max |Δ| ${dU.toExponential(2)}`);
    t.ok(dP <= 1e-5, `N=${n}: probabilities = softmax(logits), max |Δ| ${dP.toExponential(2)}`);
  }
  await f.close(); await u.close();

  // the full export path: check, score, card in metadata_props and beside the model
  const dir = mkdtempSync(join(tmpdir(), 'export-'));
  const test = subsetView(fullView(mnist), 500, seed + 1);
  const meta = { format: 'onnx-digits-checkpoint', version: 1, run: 'x', phase: 'finetune', config: smoke, configSha: 'abc', arch: toArch(smoke), data: 'mnist', trainView: view.label,
    valView: 'none', seed, epochs: 1, maxLr: 0.01, freezeBackbone: false, from: null, subset: 640, epoch: 1, batch: 0, partial: { lossSum: 0, correct: 0, seen: 0, seconds: 0 },
    engineStep: steps, history: [], trainSeconds: 12, complete: true, savedAt: '' } as const;
  const e = await buildExport({ trainer: tr, arch: toArch(smoke), name: 'test-model', configName: 'smoke', configSha: 'abc', phases: [{ ...meta, history: [] }],
    test, command: 'test', pipelineSeconds: null, seed });
  t.ok(e.card.exportCheck.maxAbsDiffLogits <= 1e-4);
  t.equal(e.card.metrics!.n, 500);
  t.equal(e.card.parameters, summarize(toArch(smoke)).totals.params);
  const file = join(dir, 'm.onnx');
  await writeExport(tr, e.card, file, cardFileFor(file));
  const written = inspectOnnx(readFileSync(file));
  const card = JSON.parse(readFileSync(join(dir, 'm.card.json'), 'utf8'));
  t.same(JSON.parse(written.metadata['model_card']!), card, 'metadata_props carries the same card as the .card.json');
  t.equal(written.metadata['test_accuracy'], card.metrics.accuracy.toFixed(4));
  for (const k of ['name', 'version', 'config', 'dataset', 'parameters', 'macs_per_image', 'training_seconds', 'machine', 'command']) t.ok(written.metadata[k], `metadata ${k}`);
  const s = await openOnnx(file, 1);
  const x = new Float32Array(3 * 784).map(() => rng.next());
  const a = await s.logits(x, 3), b = await tr.predict(x, 3);
  t.ok(a.every((v, i) => Math.abs(v - b[i]!) <= 1e-4), 'the written model (with metadata) scores like the checked one');
  await s.close();
  // `evaluate` scores an exported file on a folder of PNGs (through the service preprocessing)
  const folder = fullView(await loadFolderDataset(new URL('../data/fixtures/digits/', import.meta.url).pathname));
  const fm = await evaluateModel(file, folder, 1);
  t.equal(fm.n, 6);
  t.equal(fm.confusion.flat().reduce((a, b) => a + b, 0), 6);
  t.same(fm.perClass.filter((c) => c.support > 0).map((c) => [c.label, c.support]), [['0', 2], ['3', 2], ['7', 2]]);
  await tr.dispose();
});
