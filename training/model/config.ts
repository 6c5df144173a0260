// Run configuration = architecture + training recipe, read from YAML (training/model/configs/
// NAME.yaml, or any path) and validated with zod so a typo is an error naming the field.
import { readFileSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { ArchConfig } from '../nn/arch.js';
import { summarize } from './summary.js';

const positiveInt = z.number().int().positive();
const dilation = positiveInt;
const block = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('separable'), out: positiveInt, k: positiveInt, dilation, stride: z.union([z.literal(1), z.literal(2)]).optional(), dwNorm: z.boolean().optional() }).strict(),
  z.object({ kind: z.literal('conv'), out: positiveInt, k: positiveInt, dilation, stride: z.union([z.literal(1), z.literal(2)]).optional() }).strict(),
  z.object({ kind: z.literal('maxpool'), k: z.union([z.literal(2), z.literal(3)]).optional() }).strict(),
  z.object({ kind: z.literal('dropout'), p: z.number().min(0).lt(1) }).strict(),
]);
const archSchema = z.object({
  stem: z.object({ out: positiveInt, k: positiveInt }).strict(),
  blocks: z.array(block),
  headDropout: z.number().min(0).lt(1),
  activation: z.enum(['relu', 'gelu', 'silu']),
  classes: positiveInt.default(10),
}).strict();
const augment = z.object({
  rotateDeg: z.number().min(0).max(90), scaleMin: z.number().positive(), scaleMax: z.number().positive(),
  shearDeg: z.number().min(0).lt(89), shiftPx: z.number().min(0).max(14),
  elastic: z.object({ alpha: z.number().min(0), sigma: z.number().positive(), probability: z.number().min(0).max(1) }).strict().nullable().optional(),
}).strict();
// A phase may override parts of train.augment (elastic distortion models handwriting: it suits
// the MNIST fine-tuning, not the Fashion-MNIST pre-training).
// bnRecalibrationBatches: after the last epoch, re-estimate the BN running statistics on this
// many un-augmented training batches (training/pipeline/bn-recalibration.ts).
const phase = z.object({
  data: z.string().min(1), epochs: positiveInt, maxLr: z.number().positive(), augment: augment.partial().optional(),
  bnRecalibrationBatches: positiveInt.optional(),
}).strict();
export const runConfigSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i, 'letters, digits, . _ - only'),
  arch: archSchema,
  limits: z.object({ maxParams: positiveInt }).strict().optional(),
  train: z.object({
    batchSize: positiveInt,
    valSize: z.number().int().min(0),
    labelSmoothing: z.number().min(0).lt(1),
    optimizer: z.object({
      kind: z.enum(['adamw', 'sgd']), weightDecay: z.number().min(0), beta1: z.number().optional(), beta2: z.number().optional(),
      momentum: z.number().optional(), nesterov: z.boolean().optional(), clipGlobalNorm: z.number().positive().optional(),
    }).strict(),
    schedule: z.object({ kind: z.enum(['one-cycle', 'cosine', 'constant']), warmupFraction: z.number().min(0).lt(1), finalLrFraction: z.number().min(0).max(1) }).strict(),
    augment,
    pretrain: phase,
    finetune: phase,
  }).strict(),
}).strict();

export type RunConfig = z.infer<typeof runConfigSchema>;
export type PhaseConfig = RunConfig['train']['pretrain'];

/** The augmentation a phase trains with: train.augment with the phase's overrides on top. */
export function phaseAugment(c: RunConfig, ph: 'pretrain' | 'finetune'): RunConfig['train']['augment'] {
  return { ...c.train.augment, ...c.train[ph].augment };
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export const CONFIG_DIR = fileURLToPath(new URL('./configs/', import.meta.url));

export function toArch(c: RunConfig): ArchConfig {
  return { name: c.name, inputShape: [1, 28, 28], stem: c.arch.stem, blocks: c.arch.blocks, headDropout: c.arch.headDropout, activation: c.arch.activation, classes: c.arch.classes };
}

export function parseRunConfig(text: string, source: string): RunConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    // the yaml package appends a multi-line code frame; its first line names the problem and position
    throw new ConfigError(`${source}: not valid YAML: ${(e as Error).message.split('\n')[0]!.trim()}`);
  }
  const r = runConfigSchema.safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ConfigError(`${source}: ${issues}`);
  }
  const c = r.data;
  for (const b of c.arch.blocks) if ((b.kind === 'separable' || b.kind === 'conv') && b.k % 2 === 0) throw new ConfigError(`${source}: kernel size ${b.k} must be odd ('same' padding)`);
  for (const ph of ['pretrain', 'finetune'] as const) {
    const a = phaseAugment(c, ph);
    if (a.scaleMax < a.scaleMin) throw new ConfigError(`${source}: train.augment.scaleMax < scaleMin${c.train[ph].augment ? ` (with train.${ph}.augment)` : ''}`);
  }
  if (c.limits) {
    const p = summarize(toArch(c)).totals.params;
    if (p > c.limits.maxParams) throw new ConfigError(`${source}: ${p} parameters exceed limits.maxParams ${c.limits.maxParams}`);
  }
  return c;
}

/** A name (`default`, `tiny`, …) from training/model/configs/, or a path to a YAML file. */
export function loadRunConfig(nameOrPath: string): RunConfig {
  const file = /[/\\]|\.ya?ml$/.test(nameOrPath) ? nameOrPath : join(CONFIG_DIR, `${nameOrPath}.yaml`);
  if (!existsSync(file)) {
    throw new ConfigError(`config "${nameOrPath}" not found (looked for ${file}); named configs: ${listConfigs().join(', ')}`);
  }
  return parseRunConfig(readFileSync(file, 'utf8'), file);
}

export function listConfigs(): string[] {
  return ['default', 'tiny'].filter((n) => existsSync(join(CONFIG_DIR, `${n}.yaml`)));
}

/** Short stable hash of a config (goes into the model card). */
export function configSha(c: RunConfig): string {
  return createHash('sha256').update(JSON.stringify(c)).digest('hex').slice(0, 16);
}
