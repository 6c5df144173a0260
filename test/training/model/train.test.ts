import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadRunConfig } from '../../../training/model/config.js';
import { trainPhase } from '../../../training/pipeline/train-loop.js';
import { loadCheckpoint } from '../../../training/pipeline/checkpoint.js';
import { lastCheckpoint, type CheckpointMeta } from '../../../training/pipeline/run-state.js';
import type { ImageDataset } from '../../../training/data/index.js';

const smoke = loadRunConfig(new URL('./fixtures/smoke.yaml', import.meta.url).pathname);
const seed = 1 + Math.floor(Math.random() * 2 ** 30);
t.comment(`random seed ${seed}`);
const cache = new Map<string, ImageDataset>();
const quiet = () => {};

t.test('a short real run on a 2,000-image MNIST subset reaches >= 90 % on held-out images', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'train-'));
  const r = await trainPhase({ run: 'subset2000', phase: 'finetune', config: smoke, data: 'mnist', seed, subset: 2000, valSize: 1000,
    checkpointRoot: root, progress: false, log: quiet, cache });
  await r.trainer.dispose();
  t.equal(r.status, 'complete');
  t.equal(r.train.indices.length, 2000);
  t.equal(r.val.indices.length, 1000);
  const trainSet = new Set(r.train.indices);
  t.ok([...r.val.indices].every((i) => !trainSet.has(i)), 'validation images are not in the training subset');
  const h = r.meta.history;
  t.equal(h.length, smoke.train.finetune.epochs);
  t.ok(h.at(-1)!.valAcc! >= 0.9, `held-out accuracy ${(100 * h.at(-1)!.valAcc!).toFixed(2)} % after ${h.length} epochs`);
  t.ok(h.at(-1)!.trainLoss < h[0]!.trainLoss, 'training loss went down');
  const ck = loadCheckpoint<CheckpointMeta>(lastCheckpoint('subset2000', root));
  t.ok(ck.meta.complete);
  t.equal(ck.meta.engineStep, h.length * Math.floor(2000 / smoke.train.batchSize));
});

t.test('interrupt mid-epoch + resume equals an uninterrupted run, bit for bit', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'resume-'));
  const common = { phase: 'finetune' as const, config: smoke, data: 'mnist', seed, subset: 640, valSize: 500, epochs: 3, threads: 1, checkpointRoot: root, progress: false, log: quiet, cache };
  const straight = await trainPhase({ ...common, run: 'straight' });
  const want = straight.trainer.getState();
  await straight.trainer.dispose();

  const perEpoch = Math.floor(640 / smoke.train.batchSize);
  const stopAt = perEpoch + 1 + Math.floor(Math.random() * (perEpoch - 2)); // somewhere inside epoch 2
  let steps = 0;
  const first = await trainPhase({ ...common, run: 'interrupted', shouldStop: () => ++steps >= stopAt });
  await first.trainer.dispose();
  t.equal(first.status, 'interrupted');
  const mid = loadCheckpoint<CheckpointMeta>(lastCheckpoint('interrupted', root)).meta;
  t.equal(mid.epoch, 1, 'one epoch done');
  t.equal(mid.batch, stopAt - perEpoch, `stopped at batch ${stopAt - perEpoch} of epoch 2`);
  t.equal(mid.engineStep, stopAt);
  t.notOk(mid.complete);

  const resumed = await trainPhase({ ...common, run: 'interrupted', resume: true });
  const got = resumed.trainer.getState();
  await resumed.trainer.dispose();
  t.equal(resumed.status, 'complete');
  t.equal(got.step, want.step);
  t.same(Object.keys(got.tensors).sort(), Object.keys(want.tensors).sort());
  const differing = Object.keys(want.tensors).filter((k) => !Buffer.from(got.tensors[k]!.data.buffer).equals(Buffer.from(want.tensors[k]!.data.buffer)));
  t.same(differing, [], 'every parameter, optimizer state and BN statistic identical');
  t.same(resumed.meta.history.map((h) => [h.trainLoss, h.trainAcc, h.valLoss, h.valAcc]), straight.meta.history.map((h) => [h.trainLoss, h.trainAcc, h.valLoss, h.valAcc]),
    'same per-epoch metrics');
});

t.test('finetune on a folder of PNGs with --freeze-backbone trains only the classifier', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'folder-ft-'));
  const folder = new URL('../data/fixtures/digits/', import.meta.url).pathname;
  const src = await trainPhase({ run: 'src', phase: 'pretrain', config: smoke, data: 'mnist', seed, subset: 256, valSize: 200, epochs: 1,
    checkpointRoot: root, progress: false, log: quiet, cache });
  const before = src.trainer.getState();
  const params = Object.keys(src.trainer.paramShapes);
  await src.trainer.dispose();
  const lines: string[] = [];
  const ft = await trainPhase({ run: 'folder', phase: 'finetune', config: smoke, data: folder, from: lastCheckpoint('src', root), freezeBackbone: true,
    epochs: 3, seed, checkpointRoot: root, progress: false, log: (l) => lines.push(l) });
  const after = ft.trainer.getState();
  await ft.trainer.dispose();
  t.equal(ft.status, 'complete');
  t.equal(ft.train.indices.length + ft.val.indices.length, 6, 'the six fixture PNGs');
  t.match(lines.join('\n'), /initialised \d+ tensors from .*src\/last\.ckpt$/m, 'digits -> digits keeps the classifier head');
  const changed = params.filter((p) => !Buffer.from(after.tensors[p]!.data.buffer).equals(Buffer.from(before.tensors[p]!.data.buffer)));
  t.ok(changed.length > 0, `${changed.length} tensors changed`);
  t.same(changed.filter((p) => !p.startsWith('head.')), [], 'no backbone parameter changed');
  const stats = Object.keys(before.tensors).filter((k) => /running_(mean|var)$/.test(k));
  t.ok(stats.length > 0);
  t.same(stats.filter((k) => !Buffer.from(after.tensors[k]!.data.buffer).equals(Buffer.from(before.tensors[k]!.data.buffer))), [],
    'the frozen backbone kept its BN running statistics (eval mode)');
});
