// One training phase (pretrain or finetune): data views, engine, LR schedule, per-epoch
// validation, a checkpoint after every epoch and on interruption, exact resume.
import { existsSync } from 'node:fs';
import type { ArchConfig } from '../nn/arch.js';
import { loadDataset, splitTrainVal, subsetView, DIGIT_CLASSES, FASHION_CLASSES, type DataView, type ImageDataset } from '../data/index.js';
import { batchesPerEpoch, epochBatches } from '../data/batches.js';
import { deriveSeed } from '../data/rng.js';
import { Augmenter } from '../augment/affine.js';
import { configSha, phaseAugment, toArch, type RunConfig } from '../model/config.js';
import { createTrainer, HEAD_PREFIX, restoreCheckpointState, type TrainerLike, type TrainerTensor } from './engine.js';
import { lrAt } from './schedule.js';
import { CheckpointError, saveCheckpoint } from './checkpoint.js';
import { evaluateView } from './metrics.js';
import { recalibrateBatchNorm } from './bn-recalibration.js';
import { epochProgress } from './progress.js';
import { epochCheckpoint, lastCheckpoint, loadRunCheckpoint, type CheckpointMeta, type Phase } from './run-state.js';
import type { EpochRecord } from './report/charts.js';

export interface TrainPhaseOptions {
  run: string;
  phase: Phase;
  config: RunConfig;
  /** `mnist`, `fashion` or a folder; default from the config's phase */
  data?: string;
  dataDir?: string;
  epochs?: number;
  maxLr?: number;
  seed: number;
  threads?: number;
  freezeBackbone?: boolean;
  /** initialise from this checkpoint (finetune) */
  from?: string;
  resume?: boolean;
  /** train on a seeded subset of this many images (quick runs, tests) */
  subset?: number;
  valSize?: number;
  /** also keep checkpoints of these epochs (1-based), e.g. for the pre-training ablation */
  saveEpochs?: number[];
  checkpointRoot?: string;
  progress?: boolean;
  /** run a different architecture than the config's (the standard-conv ablation twin) */
  arch?: ArchConfig;
  log?: (line: string) => void;
  /** polled after every step: true = save a checkpoint now and stop (Ctrl-C) */
  shouldStop?: () => boolean;
  /** datasets already in memory, keyed by data spec (saves re-reading across phases) */
  cache?: Map<string, ImageDataset>;
}

export interface TrainPhaseResult {
  status: 'complete' | 'interrupted';
  checkpoint: string;
  meta: CheckpointMeta;
  trainer: TrainerLike;
  train: DataView;
  val: DataView;
}

const OPTIMIZER_STATE = /\.(adam_m|adam_v|momentum)$/;

function classNamesOf(spec: string): string[] {
  return spec === 'fashion' || spec === 'fashion-mnist' ? FASHION_CLASSES : DIGIT_CLASSES;
}

async function getDataset(spec: string, dataDir: string | undefined, cache?: Map<string, ImageDataset>): Promise<ImageDataset> {
  const key = `${spec}|train|${dataDir ?? ''}`;
  const hit = cache?.get(key);
  if (hit) return hit;
  const ds = await loadDataset(spec, 'train', dataDir);
  cache?.set(key, ds);
  return ds;
}

/** Copy weights (and BN statistics) of `source` into the trainer; optimizer state starts fresh. */
function initFrom(trainer: TrainerLike, source: Record<string, TrainerTensor>, keepHead: boolean, file: string): string[] {
  const state = trainer.getState();
  const copied: string[] = [];
  for (const [name, t] of Object.entries(state.tensors)) {
    if (OPTIMIZER_STATE.test(name) || (!keepHead && name.startsWith(HEAD_PREFIX))) continue;
    const s = source[name];
    if (!s) throw new CheckpointError(file, `has no tensor ${name} (was it trained with another architecture?)`);
    if (s.shape.join(',') !== t.shape.join(',')) throw new CheckpointError(file, `tensor ${name} has shape [${s.shape.join(', ')}], this model needs [${t.shape.join(', ')}]`);
    state.tensors[name] = { shape: t.shape, data: s.data.slice() };
    copied.push(name);
  }
  trainer.setState({ step: 0, tensors: state.tensors });
  return copied;
}

export async function trainPhase(o: TrainPhaseOptions): Promise<TrainPhaseResult> {
  const log = o.log ?? ((l: string) => console.error(l));
  const cfg = o.config;
  const phaseCfg = cfg.train[o.phase];
  const data = o.data ?? phaseCfg.data;
  const epochs = o.epochs ?? phaseCfg.epochs;
  const maxLr = o.maxLr ?? phaseCfg.maxLr;
  const arch = o.arch ?? toArch(cfg);
  const last = lastCheckpoint(o.run, o.checkpointRoot);

  const ds = await getDataset(data, o.dataDir, o.cache);
  const valSize = Math.min(o.valSize ?? cfg.train.valSize, Math.floor(ds.n * 0.2));
  const split = splitTrainVal(ds, valSize, o.seed);
  const train = o.subset ? subsetView(split.train, o.subset, o.seed) : split.train;
  const val = split.val;
  // a small folder of one's own digits may hold fewer images than a batch: shrink the batch to fit
  const B = Math.min(cfg.train.batchSize, train.indices.length);
  const perEpoch = batchesPerEpoch(train, B);
  const totalSteps = perEpoch * epochs;
  const augment = new Augmenter(phaseAugment(cfg, o.phase));
  // a frozen backbone keeps its BN statistics by design: nothing to recalibrate
  const recalBatches = o.freezeBackbone ? 0 : phaseCfg.bnRecalibrationBatches ?? 0;

  let meta: CheckpointMeta;
  const trainer = await createTrainer({ arch, config: cfg, seed: deriveSeed(o.seed, o.phase === 'pretrain' ? 1 : 2), threads: o.threads, freezeBackbone: o.freezeBackbone, batchSize: B });
  const fresh = (): CheckpointMeta => ({
    format: 'onnx-digits-checkpoint', version: 1, run: o.run, phase: o.phase, config: cfg, configSha: configSha(cfg),
    arch, data, trainView: train.label, valView: val.label, seed: o.seed, epochs, maxLr, freezeBackbone: !!o.freezeBackbone,
    from: o.from ?? null, subset: o.subset ?? null, epoch: 0, batch: 0, partial: { lossSum: 0, correct: 0, seen: 0, seconds: 0 },
    engineStep: 0, history: [], trainSeconds: 0, complete: false, savedAt: new Date().toISOString(),
  });
  try {
    if (o.resume && existsSync(last)) {
      const ck = loadRunCheckpoint(last);
      meta = ck.meta;
      if (meta.configSha !== configSha(cfg) || JSON.stringify(meta.arch) !== JSON.stringify(arch)) throw new CheckpointError(last, `was trained with a different config (${meta.config.name}, sha ${meta.configSha}); resume needs the same config`);
      if (meta.phase !== o.phase || meta.data !== data || meta.epochs !== epochs || meta.subset !== (o.subset ?? null)) {
        throw new CheckpointError(last, `is a ${meta.phase} run on ${meta.data} for ${meta.epochs} epochs (subset ${meta.subset}); resume with the same settings`);
      }
      restoreCheckpointState(trainer, { step: meta.engineStep, tensors: ck.tensors }, last);
      log(meta.complete ? `${o.run}: already complete (${meta.epoch} epochs), nothing to resume`
        : `${o.run}: resuming at epoch ${meta.epoch + 1}, batch ${meta.batch} of ${perEpoch}`);
    } else {
      if (o.resume) log(`${o.run}: no checkpoint at ${last}, starting fresh`);
      meta = fresh();
      if (o.from) {
        const src = loadRunCheckpoint(o.from);
        // keep the classifier only when it means the same classes (MNIST -> own digits: yes; Fashion -> MNIST: no)
        const keepHead = classNamesOf(src.meta.data).join('|') === ds.classNames.join('|');
        const copied = initFrom(trainer, src.tensors, keepHead, o.from);
        log(`${o.run}: initialised ${copied.length} tensors from ${o.from}${keepHead ? '' : ' (new classifier head: the classes differ)'}`);
      }
    }
  } catch (e) {
    await trainer.dispose(); // a checkpoint that cannot be used: no session left behind
    throw e;
  }

  const save = (file: string) => {
    meta.engineStep = trainer.step;
    meta.savedAt = new Date().toISOString();
    const st = trainer.getState();
    saveCheckpoint(file, meta, st.tensors);
  };

  let interrupted = false;
  while (!meta.complete && meta.epoch < epochs) {
    const e = meta.epoch;
    const bar = epochProgress(`${o.phase} ${e + 1}/${epochs}`, perEpoch, meta.batch, o.progress ?? true);
    let t0 = performance.now();
    for (const b of epochBatches(train, B, o.seed, e, augment, meta.batch)) {
      const lr = lrAt(e * perEpoch + b.index, totalSteps, maxLr, cfg.train.schedule);
      const r = await trainer.trainStep(b.x, b.y, lr);
      if (!Number.isFinite(r.loss)) throw new Error(`${o.run}: loss became ${r.loss} at epoch ${e + 1} batch ${b.index} (lr ${lr}); lower maxLr`);
      const p = meta.partial;
      p.lossSum += r.loss * B; p.correct += r.correct; p.seen += B;
      const now = performance.now();
      p.seconds += (now - t0) / 1000;
      t0 = now;
      meta.batch = b.index + 1;
      const ips = p.seen / Math.max(p.seconds, 1e-9);
      bar.update(meta.batch, { loss: p.lossSum / p.seen, acc: p.correct / p.seen, imagesPerSec: ips,
        phaseEtaSec: ((totalSteps - (e * perEpoch + meta.batch)) * B) / ips });
      if (o.shouldStop?.()) { interrupted = true; break; }
    }
    bar.stop();
    if (interrupted) {
      save(last);
      log(`${o.run}: interrupted at epoch ${e + 1}, batch ${meta.batch}/${perEpoch}; checkpoint ${last} (resume with --resume)`);
      break;
    }
    const tv = performance.now();
    const v = val.indices.length > 0 ? await evaluateView((x, n) => trainer.predict(x, n), val) : null;
    const valSeconds = (performance.now() - tv) / 1000;
    const p = meta.partial;
    const rec: EpochRecord = {
      epoch: e + 1, lr: lrAt((e + 1) * perEpoch - 1, totalSteps, maxLr, cfg.train.schedule),
      trainLoss: p.lossSum / p.seen, trainAcc: p.correct / p.seen, valLoss: v?.loss ?? null, valAcc: v?.accuracy ?? null,
      imagesPerSec: p.seen / p.seconds, seconds: p.seconds + valSeconds,
    };
    meta.history.push(rec);
    meta.trainSeconds += rec.seconds;
    meta.epoch = e + 1;
    meta.batch = 0;
    meta.partial = { lossSum: 0, correct: 0, seen: 0, seconds: 0 };
    meta.complete = meta.epoch >= epochs;
    // Recalibrate before the final save, so a complete checkpoint always carries the result.
    if (meta.complete && recalBatches && v) {
      const tr0 = performance.now();
      const batches = await recalibrateBatchNorm(trainer, train, { batches: recalBatches, batchSize: B, seed: o.seed });
      const after = await evaluateView((x, n) => trainer.predict(x, n), val);
      meta.bnRecalibration = { batches, before: { valAcc: v.accuracy, valLoss: v.loss }, after: { valAcc: after.accuracy, valLoss: after.loss }, seconds: (performance.now() - tr0) / 1000 };
      meta.trainSeconds += meta.bnRecalibration.seconds;
      log(`${o.run}: batch-norm statistics re-estimated on ${batches} clean training batches: val loss ${v.loss.toFixed(4)} → ${after.loss.toFixed(4)}, acc ${(100 * v.accuracy).toFixed(2)}% → ${(100 * after.accuracy).toFixed(2)}%`);
    }
    save(last);
    if (o.saveEpochs?.includes(meta.epoch)) save(epochCheckpoint(o.run, meta.epoch, o.checkpointRoot));
    log(`${o.run} ${o.phase} epoch ${rec.epoch}/${epochs}: train loss ${rec.trainLoss.toFixed(4)} acc ${(100 * rec.trainAcc).toFixed(2)}%`
      + (v ? ` | val loss ${v.loss.toFixed(4)} acc ${(100 * v.accuracy).toFixed(2)}%` : '')
      + ` | ${Math.round(rec.imagesPerSec)} img/s, ${rec.seconds.toFixed(1)} s`);
  }
  return { status: interrupted ? 'interrupted' : 'complete', checkpoint: last, meta, trainer, train, val };
}
