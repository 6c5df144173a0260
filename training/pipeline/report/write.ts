// reports/<run>/: metrics.json, curves-<phase>.png, confusion.png, misclassified.png, summary.md.
import { join } from 'node:path';
import { writeFileAtomic } from '../checkpoint.js';
import { finalValidation, type CheckpointMeta } from '../run-state.js';
import type { EvalMetrics } from '../metrics.js';
import { viewPixelsOffset } from '../metrics.js';
import type { DataView } from '../../data/dataset.js';
import type { ModelCard } from '../export.js';
import { confusionPng, curvesPng, digitGridPng } from './charts.js';

export interface RunReport {
  run: string;
  title: string;
  phases: CheckpointMeta[];
  evaluation?: { metrics: EvalMetrics; view: DataView; model: string } | null;
  card?: ModelCard | null;
  /** wall time of the whole command, seconds */
  wallSeconds?: number;
  command: string;
  notes?: string[];
}

const pct = (v: number | null | undefined) => (v === null || v === undefined ? '–' : `${(100 * v).toFixed(2)} %`);

export const MISCLASSIFIED_SHOWN = 64;

/** A duration for the summary: seconds below a minute (an evaluation takes seconds), minutes above. */
export function formatDuration(seconds: number): string {
  return seconds < 59.95 ? `${seconds.toFixed(1)} s` : `${(seconds / 60).toFixed(1)} min`;
}

export async function writeReport(dir: string, r: RunReport): Promise<string[]> {
  const written: string[] = [];
  const put = (name: string, bytes: Uint8Array | string) => { writeFileAtomic(join(dir, name), bytes); written.push(join(dir, name)); };
  const ev = r.evaluation ?? null;
  const metrics = {
    run: r.run,
    title: r.title,
    command: r.command,
    wallSeconds: r.wallSeconds ?? null,
    phases: r.phases.map((p) => ({ phase: p.phase, data: p.data, trainView: p.trainView, valView: p.valView, epochs: p.epochs, maxLr: p.maxLr,
      freezeBackbone: p.freezeBackbone, from: p.from, trainSeconds: p.trainSeconds, history: p.history })),
    evaluation: ev ? { model: ev.model, dataset: ev.view.label, n: ev.metrics.n, correct: ev.metrics.correct, accuracy: ev.metrics.accuracy,
      loss: ev.metrics.loss, confusion: ev.metrics.confusion, perClass: ev.metrics.perClass, misclassified: ev.metrics.misclassified.length } : null,
    card: r.card ?? null,
  };
  put('metrics.json', JSON.stringify(metrics, null, 2) + '\n');
  for (const p of r.phases) {
    if (p.history.length > 0) put(`curves-${p.phase}.png`, await curvesPng(`${r.run}: ${p.phase} on ${p.data} (${p.trainView})`, p.history));
  }
  if (ev) {
    put('confusion.png', await confusionPng(`${ev.view.label} — ${ev.model}`, ev.metrics.confusion, ev.view.ds.classNames));
    const shown = ev.metrics.misclassified.slice(0, MISCLASSIFIED_SHOWN);
    const names = ev.view.ds.classNames;
    put('misclassified.png', await digitGridPng(
      `${ev.metrics.misclassified.length} misclassified of ${ev.metrics.n} (most confident first; true → predicted, confidence)`,
      shown.map((m) => ({ pixels: ev.view.ds.pixels, offset: viewPixelsOffset(ev.view, m.position), caption: `${names[m.label]}→${names[m.predicted]} ${(100 * m.confidence).toFixed(0)}%`, alert: true })),
      16, 2));
  }
  put('summary.md', summaryMarkdown(r));
  return written;
}

function summaryMarkdown(r: RunReport): string {
  const lines = [`# ${r.title}`, '', `Command: \`${r.command}\``, ''];
  if (r.wallSeconds !== undefined) lines.push(`Wall time: ${formatDuration(r.wallSeconds)}`, '');
  for (const p of r.phases) {
    const last = p.history.at(-1);
    lines.push(`## ${p.phase} on ${p.data}`, '',
      `- train: ${p.trainView}; validation: ${p.valView}`,
      `- ${p.epochs} epochs, max lr ${p.maxLr}${p.freezeBackbone ? ', backbone frozen' : ''}${p.from ? `, initialised from ${p.from}` : ''}`,
      `- training time ${formatDuration(p.trainSeconds)}, ${last ? Math.round(last.imagesPerSec) : '–'} img/s (last epoch)`,
      ...(p.bnRecalibration ? [`- batch-norm statistics re-estimated on ${p.bnRecalibration.batches} un-augmented training batches after the last epoch: validation ${pct(p.bnRecalibration.before.valAcc)} (loss ${p.bnRecalibration.before.valLoss?.toFixed(4) ?? '–'}) → ${pct(p.bnRecalibration.after.valAcc)} (loss ${p.bnRecalibration.after.valLoss?.toFixed(4) ?? '–'})`] : []),
      `- final validation accuracy ${pct(finalValidation(p).valAcc)} (loss ${finalValidation(p).valLoss?.toFixed(4) ?? '–'})`, '',
      '| epoch | lr | train loss | train acc | val loss | val acc | img/s | s |', '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...p.history.map((h) => `| ${h.epoch} | ${h.lr.toExponential(2)} | ${h.trainLoss.toFixed(4)} | ${pct(h.trainAcc)} | ${h.valLoss?.toFixed(4) ?? '–'} | ${pct(h.valAcc)} | ${Math.round(h.imagesPerSec)} | ${h.seconds.toFixed(0)} |`),
      '', `![${p.phase} curves](curves-${p.phase}.png)`, '');
  }
  const ev = r.evaluation;
  if (ev) {
    lines.push(`## Evaluation: ${ev.model} on ${ev.view.label}`, '',
      `**Accuracy ${pct(ev.metrics.accuracy)}** (${ev.metrics.correct} / ${ev.metrics.n}), mean cross-entropy ${ev.metrics.loss.toFixed(4)}.`, '',
      '| class | support | precision | recall |', '| --- | ---: | ---: | ---: |',
      ...ev.metrics.perClass.map((c) => `| ${c.label} | ${c.support} | ${pct(c.precision)} | ${pct(c.recall)} |`),
      '', '![confusion matrix](confusion.png)', '', '![misclassified](misclassified.png)', '');
  }
  if (r.card) {
    const c = r.card;
    lines.push('## Model card', '', `- ${c.name} ${c.version}, ${c.parameters.toLocaleString('en-US')} parameters, ${c.macsPerImage.toLocaleString('en-US')} MACs/image`,
      `- test accuracy ${c.metrics ? pct(c.metrics.accuracy) : '–'}; export check max |Δlogits| ${c.exportCheck.maxAbsDiffLogits.toExponential(2)} over ${c.exportCheck.samples} inputs`,
      `- machine: ${c.machine.cpu} × ${c.machine.cores} cores, ${c.machine.os}, Node ${c.machine.node}, onnxruntime-node ${c.machine.onnxruntime}`, '');
  }
  for (const n of r.notes ?? []) lines.push(`- ${n}`);
  return lines.join('\n') + '\n';
}
