// Ablations for the README, each a committed command:
//   ablation conv      separable-dilated vs the standard-conv twin of the same shape, trained alike
//   ablation pretrain  from scratch vs Fashion-pretrained + fine-tuned, MNIST test accuracy after
//                      1, 3 and all fine-tuning epochs (the pretrained arm is the pipeline's run)
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import type { ImageDataset } from '../../data/index.js';
import { toArch } from '../../model/config.js';
import { summarize, standardTwin } from '../../model/summary.js';
import { trainPhase } from '../train-loop.js';
import { evaluateView } from '../metrics.js';
import { writeFileAtomic } from '../checkpoint.js';
import { epochCheckpoint, lastCheckpoint, loadRunCheckpoint } from '../run-state.js';
import { machineInfo } from '../export.js';
import { testView, evaluateModel } from './evaluate.js';
import { commandLine, config, int, num, runName, StopSignal, UsageError } from './common.js';
import type { TrainCommandOptions } from './train.js';

/** the standard twin costs ~8× the MACs: a short, equal schedule for both arms */
export const CONV_ABLATION_EPOCHS = 2;

const pct = (v: number) => `${(100 * v).toFixed(2)} %`;

function writeAblation(dir: string, title: string, table: string[], data: unknown, notes: string[]): void {
  const m = machineInfo();
  const md = [`# ${title}`, '', `Command: \`${commandLine()}\``, '', `Machine: ${m.cpu} × ${m.cores} cores, Node ${m.node}, onnxruntime-node ${m.onnxruntime}`, '', ...table, '', ...notes.map((n) => `- ${n}`), ''].join('\n');
  writeFileAtomic(join(dir, 'summary.md'), md);
  writeFileAtomic(join(dir, 'metrics.json'), JSON.stringify({ title, command: commandLine(), machine: m, ...data as object }, null, 2) + '\n');
  console.log(md);
}

export async function ablationConvCommand(o: TrainCommandOptions): Promise<number> {
  const cfg = config(o);
  const seed = int('seed', o.seed)!;
  const test = await testView('mnist', o.dataDir);
  const stop = new StopSignal();
  const cache = new Map<string, ImageDataset>();
  const rows = [];
  try {
    for (const [arm, arch] of [['separable-dilated', toArch(cfg)], ['standard conv', standardTwin(toArch(cfg))]] as const) {
      const run = `${runName('run', o.run) ?? `ablation-conv-${cfg.name}`}-${arm === 'standard conv' ? 'std' : 'sep'}`;
      const r = await trainPhase({ run, phase: 'finetune', config: cfg, arch, data: 'mnist', dataDir: o.dataDir, epochs: int('epochs', o.epochs ?? String(CONV_ABLATION_EPOCHS), 1), maxLr: num('lr', o.lr),
        seed, threads: int('threads', o.threads, 1), resume: o.resume, subset: int('subset', o.subset, 1), checkpointRoot: o.checkpoints,
        progress: o.progress, shouldStop: stop.check, cache });
      try {
        if (r.status === 'interrupted') return 130;
        const m = await evaluateView((x, n) => r.trainer.predict(x, n), test);
        const s = summarize(arch);
        rows.push({ arm, arch: arch.name, params: s.totals.params, macs: s.totals.macs, testAccuracy: m.accuracy, trainSeconds: r.meta.trainSeconds,
          imagesPerSec: r.meta.history.reduce((a, h) => a + h.imagesPerSec, 0) / r.meta.history.length, epochs: r.meta.epochs, trainView: r.meta.trainView });
      } finally {
        await r.trainer.dispose();
      }
    }
  } finally {
    stop.dispose();
  }
  const table = ['| network | params | MACs / image | MNIST test accuracy | training time | train img/s |', '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.arm} (${r.arch}) | ${r.params.toLocaleString('en-US')} | ${r.macs.toLocaleString('en-US')} | ${pct(r.testAccuracy)} | ${(r.trainSeconds / 60).toFixed(1)} min | ${Math.round(r.imagesPerSec)} |`)];
  writeAblation(join(o.reports, `ablation-conv-${cfg.name}`), `Separable-dilated vs standard conv (${cfg.name}, ${rows[0]!.epochs} epochs on ${rows[0]!.trainView}, same recipe)`, table, { rows },
    ['Both arms: same widths, kernel sizes, dilations, pooling, recipe, seed and data order; only the separable blocks differ.']);
  return 0;
}

export async function ablationPretrainCommand(o: TrainCommandOptions & { pipelineRun?: string }): Promise<number> {
  const cfg = config(o);
  const seed = int('seed', o.seed)!;
  const pipe = runName('pipeline-run', o.pipelineRun) ?? `pipeline-${cfg.name}`;
  const ftRun = `${pipe}-finetune`;
  const ftLast = lastCheckpoint(ftRun, o.checkpoints);
  if (!existsSync(ftLast)) throw new UsageError(`${ftLast} not found: run \`npm run train -- pipeline --config ${cfg.name}\` first (its fine-tuning run is the pretrained arm)`);
  const ftMeta = loadRunCheckpoint(ftLast).meta;
  const epochs = ftMeta.epochs;
  if (o.epochs !== undefined && int('epochs', o.epochs, 1) !== epochs) throw new UsageError(`--epochs must equal the pipeline's fine-tuning epochs (${epochs}) for a fair comparison`);
  const points = [...new Set([1, 3, epochs].filter((e) => e <= epochs))];
  const stop = new StopSignal();
  const scratchRun = runName('run', o.run) ?? `ablation-scratch-${cfg.name}`;
  try {
    const r = await trainPhase({ run: scratchRun, phase: 'finetune', config: cfg, data: 'mnist', dataDir: o.dataDir, epochs, maxLr: ftMeta.maxLr, seed,
      threads: int('threads', o.threads, 1), resume: o.resume, subset: ftMeta.subset ?? undefined, saveEpochs: points, checkpointRoot: o.checkpoints,
      progress: o.progress, shouldStop: stop.check });
    await r.trainer.dispose();
    if (r.status === 'interrupted') return 130;
  } finally {
    stop.dispose();
  }
  const test = await testView('mnist', o.dataDir);
  const threads = int('threads', o.threads, 1);
  const pre = ftMeta.from && existsSync(ftMeta.from) ? loadRunCheckpoint(ftMeta.from).meta : null;
  const rows: { epoch: number; scratch: number; pretrained: number }[] = [];
  for (const e of points) {
    const ck = (run: string) => (e === epochs && !existsSync(epochCheckpoint(run, e, o.checkpoints)) ? lastCheckpoint(run, o.checkpoints) : epochCheckpoint(run, e, o.checkpoints));
    for (const f of [ck(scratchRun), ck(ftRun)]) if (!existsSync(f)) throw new UsageError(`${f} not found (the pipeline keeps fine-tune epochs 1 and 3 by default: --save-epochs)`);
    const scratch = (await evaluateModel(ck(scratchRun), test, threads)).accuracy;
    const pretrained = (await evaluateModel(ck(ftRun), test, threads)).accuracy;
    rows.push({ epoch: e, scratch, pretrained });
  }
  const table = ['| fine-tuning epochs done | from scratch | Fashion-pretrained + fine-tuned | difference |', '| ---: | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.epoch} of ${epochs} | ${pct(r.scratch)} | ${pct(r.pretrained)} | ${((r.pretrained - r.scratch) * 100).toFixed(2)} pp |`)];
  writeAblation(join(o.reports, `ablation-pretrain-${cfg.name}`), `From scratch vs Fashion-MNIST pre-training (${cfg.name}), MNIST test accuracy`, table,
    { epochs, rows, scratchRun, pretrainedRun: ftRun, pretraining: pre ? { data: pre.data, epochs: pre.epochs, trainView: pre.trainView, trainSeconds: pre.trainSeconds } : null },
    [`Both arms: the same ${epochs}-epoch one-cycle schedule (accuracy read from checkpoints part-way through it, so early epochs are at high learning rate), same data order and augmentation; the pretrained arm's ${pre ? `${pre.epochs} ${pre.data} epochs (${pre.trainView})` : 'pre-training epochs'} are not counted in the epoch column.`]);
  return 0;
}
