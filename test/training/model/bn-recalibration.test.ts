// Batch-norm recalibration at the end of a phase: it moves the BN running statistics and nothing
// else, runs before the final checkpoint is written, and its result is what the phase reports.
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadRunConfig, type RunConfig } from '../../../training/model/config.js';
import { trainPhase } from '../../../training/pipeline/train-loop.js';
import { loadCheckpoint } from '../../../training/pipeline/checkpoint.js';
import { recalibrateBatchNorm } from '../../../training/pipeline/bn-recalibration.js';
import { finalValidation, lastCheckpoint, type CheckpointMeta } from '../../../training/pipeline/run-state.js';
import type { ImageDataset } from '../../../training/data/index.js';

const smoke = loadRunConfig(new URL('./fixtures/smoke.yaml', import.meta.url).pathname);
const seed = 1 + Math.floor(Math.random() * 2 ** 30);
t.comment(`random seed ${seed}`);
const cache = new Map<string, ImageDataset>();
const BN_STATS = /\.(running_mean|running_var)$/;
const OPT_STATE = /\.(adam_m|adam_v|momentum)$/;

t.test('recalibration changes the BN running statistics and no weight', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'recal-'));
  const r = await trainPhase({ run: 'r', phase: 'finetune', config: smoke, data: 'mnist', seed, subset: 640, valSize: 500, epochs: 1,
    checkpointRoot: root, progress: false, log: () => {}, cache });
  const before = r.trainer.getState();
  const bnNames = Object.keys(before.tensors).filter((n) => BN_STATS.test(n));
  t.ok(bnNames.length >= 10, `${bnNames.length} BN statistics tensors`);
  t.equal(await recalibrateBatchNorm(r.trainer, r.train, { batches: 4, batchSize: smoke.train.batchSize, seed }), 4, 'ran the batches asked for');
  const after = r.trainer.getState();
  for (const [name, tb] of Object.entries(before.tensors)) {
    if (BN_STATS.test(name) || OPT_STATE.test(name)) continue;
    t.same(after.tensors[name]!.data, tb.data, `${name} unchanged`);
  }
  t.ok(bnNames.every((n) => after.tensors[n]!.data.some((v, i) => v !== before.tensors[n]!.data[i])), 'every BN statistic moved');
  await r.trainer.dispose();
});

t.test('a phase with bnRecalibrationBatches recalibrates before its final checkpoint and reports the result', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'recal-phase-'));
  const config: RunConfig = { ...smoke, train: { ...smoke.train, finetune: { ...smoke.train.finetune, bnRecalibrationBatches: 3 } } };
  const lines: string[] = [];
  const r = await trainPhase({ run: 'p', phase: 'finetune', config, data: 'mnist', seed, subset: 640, valSize: 500, epochs: 2,
    checkpointRoot: root, progress: false, log: (l) => lines.push(l), cache });
  const rec = r.meta.bnRecalibration!;
  t.ok(rec, 'recorded');
  t.equal(rec.batches, 3);
  t.equal(rec.before.valAcc, r.meta.history.at(-1)!.valAcc, 'before = the last epoch\'s validation');
  t.same(finalValidation(r.meta), rec.after, 'the phase ends with the recalibrated result');
  t.equal(r.meta.engineStep, 2 * Math.floor(640 / smoke.train.batchSize) + 3, 'the recalibration steps are counted');
  t.ok(lines.some((l) => /batch-norm statistics re-estimated on 3 clean training batches/.test(l)), 'logged');
  const ck = loadCheckpoint<CheckpointMeta>(lastCheckpoint('p', root));
  t.same(ck.meta.bnRecalibration, rec, 'in the final checkpoint');
  const live = r.trainer.getState().tensors;
  for (const n of Object.keys(live).filter((k) => BN_STATS.test(k))) t.same(ck.tensors[n]!.data, live[n]!.data, `${n} saved after recalibration`);
  await r.trainer.dispose();

  const frozen = await trainPhase({ run: 'f', phase: 'finetune', config, data: 'mnist', seed, subset: 640, valSize: 500, epochs: 1,
    freezeBackbone: true, checkpointRoot: root, progress: false, log: () => {}, cache });
  t.notOk(frozen.meta.bnRecalibration, 'a frozen backbone keeps its statistics: no recalibration');
  await frozen.trainer.dispose();
});
