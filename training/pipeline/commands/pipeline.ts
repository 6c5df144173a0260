// `pipeline`: pre-train on Fashion-MNIST -> fine-tune on MNIST -> export (BN folded, checked
// against the training graph) -> evaluate on the MNIST test set -> model + card + report.
import { join } from 'node:path';
import type { ImageDataset } from '../../data/index.js';
import { toArch } from '../../model/config.js';
import { trainPhase } from '../train-loop.js';
import { lastCheckpoint } from '../run-state.js';
import { buildExport, cardFileFor, writeExport } from '../export.js';
import { writeReport } from '../report/write.js';
import { testView } from './evaluate.js';
import { commandLine, config, defaultModelFile, int, intList, num, outFile, runName, StopSignal, type CommonOptions } from './common.js';

export interface PipelineOptions extends CommonOptions {
  run?: string;
  out?: string;
  pretrainEpochs?: string;
  finetuneEpochs?: string;
  pretrainLr?: string;
  finetuneLr?: string;
  subset?: string;
  resume?: boolean;
  saveEpochs?: string;
  skipPretrain?: boolean;
}

export async function pipelineCommand(o: PipelineOptions): Promise<number> {
  const t0 = performance.now();
  const cfg = config(o);
  const run = runName('run', o.run) ?? `pipeline-${cfg.name}`;
  const out = outFile('out', o.out ?? defaultModelFile(cfg.name));
  const seed = int('seed', o.seed)!;
  const threads = int('threads', o.threads, 1);
  const subset = int('subset', o.subset, 1);
  const stop = new StopSignal();
  const cache = new Map<string, ImageDataset>();
  const common = { config: cfg, seed, threads, subset, resume: o.resume, checkpointRoot: o.checkpoints, progress: o.progress, shouldStop: stop.check, dataDir: o.dataDir, cache };
  try {
    const phases = [];
    let from: string | undefined;
    if (!o.skipPretrain) {
      const pre = await trainPhase({ ...common, run: `${run}-pretrain`, phase: 'pretrain', epochs: int('pretrain-epochs', o.pretrainEpochs, 1), maxLr: num('pretrain-lr', o.pretrainLr) });
      await pre.trainer.dispose();
      if (pre.status === 'interrupted') return 130;
      phases.push(pre.meta);
      from = lastCheckpoint(`${run}-pretrain`, o.checkpoints);
    }
    const ft = await trainPhase({ ...common, run: `${run}-finetune`, phase: 'finetune', from, epochs: int('finetune-epochs', o.finetuneEpochs, 1),
      maxLr: num('finetune-lr', o.finetuneLr), saveEpochs: o.saveEpochs === undefined ? [1, 3] : intList('save-epochs', o.saveEpochs) });
    if (ft.status === 'interrupted') { await ft.trainer.dispose(); return 130; }
    phases.push(ft.meta);
    try {
      const test = await testView('mnist', o.dataDir);
      const tExport = performance.now();
      const e = await buildExport({ trainer: ft.trainer, arch: toArch(cfg), name: `onnx-digits-${cfg.name}`, configName: cfg.name, configSha: ft.meta.configSha,
        phases, test, command: commandLine(), pipelineSeconds: (performance.now() - t0) / 1000, seed });
      // the card records this command's wall time; after --resume that would miss the earlier
      // part, so count training time summed over the resumed runs plus this export instead
      e.card.pipelineSeconds = o.resume
        ? phases.reduce((a, p) => a + p.trainSeconds, 0) + (performance.now() - tExport) / 1000
        : (performance.now() - t0) / 1000;
      await writeExport(ft.trainer, e.card, out, cardFileFor(out));
      const dir = join(o.reports, run);
      await writeReport(dir, { run, title: `Pipeline ${cfg.name}: ${phases.map((p) => `${p.phase} on ${p.data}`).join(' → ')} → export`, phases,
        evaluation: { metrics: e.test!, view: test, model: out }, card: e.card, command: commandLine(), wallSeconds: (performance.now() - t0) / 1000 });
      console.log(`${run}: MNIST test accuracy ${(100 * e.test!.accuracy).toFixed(2)} % (${e.test!.correct}/${e.test!.n}), ${e.card.parameters} params; `
        + `model ${out}; report ${dir}/; ${((performance.now() - t0) / 60000).toFixed(1)} min`);
      return 0;
    } finally {
      await ft.trainer.dispose();
    }
  } finally {
    stop.dispose();
  }
}
