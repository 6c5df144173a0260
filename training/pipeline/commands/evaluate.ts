// `evaluate --model FILE` (an exported .onnx or a .ckpt) on a test set, and `export --from CKPT`.
import { basename, join } from 'node:path';
import { existsSync } from 'node:fs';
import { loadDataset, fullView, type DataView } from '../../data/index.js';
import { toArch } from '../../model/config.js';
import { createTrainer, restoreCheckpointState, type TrainerLike } from '../engine.js';
import { evaluateView, type EvalMetrics, type LogitsFn } from '../metrics.js';
import { ModelFileError, openOnnx } from '../onnx-file.js';
import { buildExport, cardFileFor, writeExport } from '../export.js';
import { writeReport } from '../report/write.js';
import { loadRunCheckpoint, type CheckpointMeta } from '../run-state.js';
import { commandLine, defaultModelFile, int, outFile, UsageError, type CommonOptions } from './common.js';

export async function trainerFromCheckpoint(file: string, threads?: number): Promise<{ trainer: TrainerLike; meta: CheckpointMeta }> {
  const ck = loadRunCheckpoint(file);
  const trainer = await createTrainer({ arch: ck.meta.arch ?? toArch(ck.meta.config), config: ck.meta.config, seed: ck.meta.seed, threads });
  try {
    restoreCheckpointState(trainer, { step: ck.meta.engineStep, tensors: ck.tensors }, file);
  } catch (e) {
    await trainer.dispose();
    throw e;
  }
  return { trainer, meta: ck.meta };
}

/** The held-out test view for a data spec: MNIST/Fashion test split, or a whole folder. */
export async function testView(data: string, dataDir?: string): Promise<DataView> {
  return fullView(await loadDataset(data, 'test', dataDir));
}

export interface EvaluateOptions extends CommonOptions {
  model: string;
  data: string;
  report?: string;
}

export async function evaluateModel(model: string, view: DataView, threads?: number): Promise<EvalMetrics> {
  if (!existsSync(model)) throw new UsageError(`--model ${model}: no such file`);
  let logits: LogitsFn;
  let close: () => Promise<void>;
  if (model.endsWith('.ckpt')) {
    const { trainer } = await trainerFromCheckpoint(model, threads);
    logits = (x, n) => trainer.predict(x, n);
    close = () => trainer.dispose();
  } else {
    const s = await openOnnx(model, threads);
    const classes = view.ds.classNames.length;
    logits = async (x, n) => {
      const z = await s.logits(x, n);
      if (z.length !== n * classes) throw new ModelFileError(model, `returns ${z.length / n} logits per image; ${view.label} has ${classes} classes`);
      return z;
    };
    close = s.close;
  }
  try {
    return await evaluateView(logits, view);
  } finally {
    await close();
  }
}

export async function evaluateCommand(o: EvaluateOptions): Promise<number> {
  const view = await testView(o.data, o.dataDir);
  const t0 = performance.now();
  const m = await evaluateModel(o.model, view, int('threads', o.threads, 1));
  const dataTag = o.data.includes('/') ? basename(o.data) : o.data;
  const dir = o.report ?? join(o.reports, `eval-${basename(o.model).replace(/\.(onnx|ckpt)$/, '')}-${dataTag}`);
  await writeReport(dir, { run: basename(dir), title: `Evaluation of ${o.model} on ${view.label}`, phases: [], evaluation: { metrics: m, view, model: o.model },
    command: commandLine(), wallSeconds: (performance.now() - t0) / 1000 });
  console.log(`${o.model} on ${view.label}: accuracy ${(100 * m.accuracy).toFixed(2)} % (${m.correct}/${m.n}), loss ${m.loss.toFixed(4)}; report ${dir}/`);
  return 0;
}

export interface ExportOptions extends CommonOptions {
  from: string;
  out?: string;
  name?: string;
}

export async function exportCommand(o: ExportOptions): Promise<number> {
  if (o.out !== undefined) outFile('out', o.out);
  const { trainer, meta } = await trainerFromCheckpoint(o.from, int('threads', o.threads, 1));
  try {
    const digits = meta.data !== 'fashion' && meta.data !== 'fashion-mnist';
    const test = digits ? await testView('mnist', o.dataDir) : await testView('fashion', o.dataDir);
    const out = o.out ?? (digits ? defaultModelFile(meta.config.name) : `models/${meta.config.name}-fashion.onnx`);
    const phases = [meta];
    if (meta.from && existsSync(meta.from)) phases.unshift(loadRunCheckpoint(meta.from).meta);
    const e = await buildExport({ trainer, arch: meta.arch ?? toArch(meta.config), name: o.name ?? `onnx-digits-${meta.config.name}`, configName: meta.config.name,
      configSha: meta.configSha, phases, test, command: commandLine(), pipelineSeconds: null, seed: meta.seed });
    await writeExport(trainer, e.card, out, cardFileFor(out));
    console.log(`exported ${out} (+ ${cardFileFor(out)}): ${e.card.parameters} params, test accuracy ${(100 * e.test!.accuracy).toFixed(2)} % on ${test.label}, max |Δ| vs training graph ${e.card.exportCheck.maxAbsDiffLogits.toExponential(2)}`);
    return 0;
  } finally {
    await trainer.dispose();
  }
}
