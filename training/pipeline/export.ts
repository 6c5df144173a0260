// Export: the eval-mode graph with batch norm folded into the convs (engine's buildEvalModel),
// checked against the training graph's eval mode, scored on the MNIST test set, and written with
// its model card (ONNX metadata_props + a .card.json beside it). Files are written atomically.
import { cpus, totalmem, platform, release } from 'node:os';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { Rng } from '../data/rng.js';
import { PIXELS, type DataView } from '../data/dataset.js';
import { summarize } from '../model/summary.js';
import type { ArchConfig } from '../nn/arch.js';
import type { TrainerLike } from './engine.js';
import { openOnnx, inspectOnnx } from './onnx-file.js';
import { evaluateView, type EvalMetrics } from './metrics.js';
import { writeFileAtomic } from './checkpoint.js';
import { finalValidation, type CheckpointMeta } from './run-state.js';

export const EXPORT_TOLERANCE = 1e-4;

export interface MachineInfo { cpu: string; cores: number; memoryGiB: number; os: string; node: string; onnxruntime: string }

export function machineInfo(): MachineInfo {
  const require = createRequire(import.meta.url);
  let ortVersion = 'unknown';
  try { ortVersion = (require('onnxruntime-node/package.json') as { version: string }).version; } catch { /* keep unknown */ }
  const c = cpus();
  return { cpu: c[0]?.model.trim() ?? 'unknown', cores: c.length, memoryGiB: Math.round(totalmem() / 2 ** 30), os: `${platform()} ${release()}`, node: process.version, onnxruntime: ortVersion };
}

/** The git commit the code ran from (and whether the training code had local edits), if in a checkout. */
export function sourceRevision(): { commit: string; trainingCodeModified: boolean } | null {
  try {
    const opts = { encoding: 'utf8' as const, stdio: ['ignore', 'pipe', 'ignore'] as ['ignore', 'pipe', 'ignore'] };
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], opts).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'training', 'src/preprocess', 'package.json'], opts).trim().length > 0;
    return { commit, trainingCodeModified: dirty };
  } catch {
    return null;
  }
}

export function projectVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export interface ModelCard {
  name: string;
  version: string;
  created: string;
  description: string;
  config: { name: string; sha: string; arch: ArchConfig };
  input: { name: string; shape: (number | string)[]; dtype: 'float32'; range: [number, number]; layout: string; normalisation: string };
  outputs: { name: string; shape: (number | string)[]; meaning: string }[];
  classes: string[];
  datasets: { phase: string; data: string; train: string; validation: string; epochs: number; finalValAccuracy: number | null; bnRecalibrationBatches: number | null }[];
  metrics: { dataset: string; n: number; correct: number; accuracy: number; loss: number } | null;
  parameters: number;
  macsPerImage: number;
  trainingSeconds: number;
  pipelineSeconds: number | null;
  machine: MachineInfo;
  command: string;
  source: { commit: string; trainingCodeModified: boolean } | null;
  exportCheck: { maxAbsDiffLogits: number; samples: number; tolerance: number };
}

/** metadata_props: flat keys for quick reading + the whole card as JSON under `model_card`. */
export function cardMetadata(card: ModelCard): Record<string, string> {
  return {
    model_card: JSON.stringify(card),
    name: card.name,
    version: card.version,
    config: card.config.name,
    config_sha: card.config.sha,
    dataset: card.datasets.map((d) => `${d.phase}:${d.data}`).join(' -> '),
    test_accuracy: card.metrics ? card.metrics.accuracy.toFixed(4) : 'not evaluated',
    parameters: String(card.parameters),
    macs_per_image: String(card.macsPerImage),
    normalisation: card.input.normalisation,
    training_seconds: card.trainingSeconds.toFixed(0),
    machine: `${card.machine.cpu} × ${card.machine.cores}`,
    command: card.command,
    ...(card.source ? { source_commit: card.source.commit } : {}),
  };
}

/** Max |exported − trainer.predict| over random images and real ones from `sample`. */
export async function exportDifference(trainer: TrainerLike, onnx: Uint8Array, sample: DataView | null, seed: number): Promise<{ max: number; samples: number }> {
  const scorer = await openOnnx(onnx, 1);
  try {
    const rng = new Rng(seed);
    const nRand = 64, nReal = sample ? Math.min(64, sample.indices.length) : 0;
    const x = new Float32Array((nRand + nReal) * PIXELS);
    for (let i = 0; i < nRand * PIXELS; i++) x[i] = rng.next();
    for (let i = 0; i < nReal; i++) {
      const idx = sample!.indices[rng.int(sample!.indices.length)]!;
      x.set(sample!.ds.pixels.subarray(idx * PIXELS, (idx + 1) * PIXELS), (nRand + i) * PIXELS);
    }
    const n = nRand + nReal;
    const a = await trainer.predict(x, n);
    const b = await scorer.logits(x, n);
    let max = 0;
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
    return { max, samples: n };
  } finally {
    await scorer.close();
  }
}

export interface ExportInput {
  trainer: TrainerLike;
  arch: ArchConfig;
  name: string;
  configName: string;
  configSha: string;
  phases: CheckpointMeta[];
  test: DataView | null;
  command: string;
  pipelineSeconds: number | null;
  seed: number;
}

export interface ExportResult { bytes: Uint8Array; card: ModelCard; test: EvalMetrics | null }

/** Build, check, score and card a model (nothing written yet). */
export async function buildExport(e: ExportInput): Promise<ExportResult> {
  const plain = e.trainer.buildEvalModel({ foldBatchNorm: true });
  const info = inspectOnnx(plain);
  if (info.opTypes.includes('BatchNormalization')) throw new Error('export: the folded graph still contains BatchNormalization');
  const diff = await exportDifference(e.trainer, plain, e.test, e.seed);
  if (!(diff.max <= EXPORT_TOLERANCE)) throw new Error(`export: exported logits differ from the training graph's eval mode by ${diff.max} (> ${EXPORT_TOLERANCE})`);
  let test: EvalMetrics | null = null;
  if (e.test) {
    const s = await openOnnx(plain);
    try { test = await evaluateView(s.logits, e.test); } finally { await s.close(); }
  }
  const sum = summarize(e.arch);
  const last = e.phases[e.phases.length - 1]!;
  const card: ModelCard = {
    name: e.name,
    version: `${projectVersion()}+${e.configName}.${e.configSha.slice(0, 8)}`,
    created: new Date().toISOString(),
    description: 'Handwritten digit classifier: depthwise-separable dilated CNN trained by the onnx-digits TypeScript pipeline.',
    config: { name: e.configName, sha: e.configSha, arch: e.arch },
    input: { name: info.inputName, shape: info.inputDims, dtype: 'float32', range: [0, 1], layout: 'NCHW [N,1,28,28]',
      normalisation: 'MNIST-style: light ink (1) on black (0), digit scaled to 20 px in a 28×28 box, centred by centre of mass; values in [0,1], no further normalisation' },
    outputs: [
      { name: 'logits', shape: ['N', e.arch.classes], meaning: 'unnormalised class scores' },
      { name: 'probabilities', shape: ['N', e.arch.classes], meaning: 'softmax(logits)' },
    ],
    classes: last.phase === 'finetune' || last.data !== 'fashion' ? ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] : [],
    datasets: e.phases.map((p) => ({ phase: p.phase, data: p.data, train: p.trainView, validation: p.valView, epochs: p.epochs, finalValAccuracy: finalValidation(p).valAcc, bnRecalibrationBatches: p.bnRecalibration?.batches ?? null })),
    metrics: test && e.test ? { dataset: e.test.label, n: test.n, correct: test.correct, accuracy: test.accuracy, loss: test.loss } : null,
    parameters: Object.values(e.trainer.paramShapes).reduce((a, s) => a + s.reduce((p, q) => p * q, 1), 0),
    macsPerImage: sum.totals.macs,
    trainingSeconds: e.phases.reduce((a, p) => a + p.trainSeconds, 0),
    pipelineSeconds: e.pipelineSeconds,
    machine: machineInfo(),
    command: e.command,
    source: sourceRevision(),
    exportCheck: { maxAbsDiffLogits: diff.max, samples: diff.samples, tolerance: EXPORT_TOLERANCE },
  };
  return { bytes: plain, card, test };
}

/** Write the model (with the card in metadata_props) and the card JSON, atomically. */
export async function writeExport(trainer: TrainerLike, card: ModelCard, modelFile: string, cardFile: string): Promise<Uint8Array> {
  const bytes = trainer.buildEvalModel({ foldBatchNorm: true, metadata: cardMetadata(card) });
  writeFileAtomic(modelFile, bytes);
  writeFileAtomic(cardFile, JSON.stringify(card, null, 2) + '\n');
  return bytes;
}

export function cardFileFor(modelFile: string): string {
  return modelFile.replace(/\.onnx$/, '') + '.card.json';
}
