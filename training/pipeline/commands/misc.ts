// `summary` (per-layer arithmetic) and `augment-grid` (a PNG of augmented samples, the visual
// check of the augmentation settings).
import { loadDataset, fullView, PIXELS } from '../../data/index.js';
import { Rng, deriveSeed } from '../../data/rng.js';
import { Augmenter, type AugmentParams } from '../../augment/affine.js';
import { summarize, formatSummary, standardTwin } from '../../model/summary.js';
import { phaseAugment, toArch } from '../../model/config.js';
import { digitGridPng, type GridItem } from '../report/charts.js';
import { writeFileAtomic } from '../checkpoint.js';
import { config, int, type CommonOptions } from './common.js';

export function summaryCommand(o: CommonOptions & { json?: boolean }): number {
  const arch = toArch(config(o));
  const s = summarize(arch);
  console.log(o.json ? JSON.stringify({ ...s, standard: summarize(standardTwin(arch)).totals }, null, 2) : formatSummary(s));
  return 0;
}

/** A gentle elastic preset for `--elastic` (Simard's 34 px is tuned for his 29×29 setup, too strong here). */
export const ELASTIC_PRESET = { alpha: 8, sigma: 3, probability: 1 };

export interface AugmentGridOptions extends CommonOptions {
  data: string;
  out: string;
  samples: string;
  per: string;
  elastic?: boolean;
}

export async function augmentGridCommand(o: AugmentGridOptions): Promise<number> {
  const cfg = config(o);
  // the augmentation of the phase that trains on this data (pre-training data, else fine-tuning)
  const phase = o.data === cfg.train.pretrain.data ? 'pretrain' : 'finetune';
  const params: AugmentParams = { ...phaseAugment(cfg, phase), ...(o.elastic ? { elastic: ELASTIC_PRESET } : {}) };
  const ds = await loadDataset(o.data, 'train', o.dataDir);
  const view = fullView(ds);
  const seed = int('seed', o.seed)!;
  const samples = int('samples', o.samples, 1)!;
  const per = int('per', o.per, 1)!;
  const rng = new Rng(deriveSeed(seed, 0x9a1d));
  const aug = new Augmenter(params);
  const items: GridItem[] = [];
  for (let s = 0; s < samples; s++) {
    const idx = view.indices[rng.int(view.indices.length)]!;
    const src = ds.pixels.slice(idx * PIXELS, (idx + 1) * PIXELS);
    items.push({ pixels: src, offset: 0, caption: `${ds.classNames[ds.labels[idx]!]} original` });
    const out = new Float32Array(per * PIXELS);
    const batch = new Float32Array(per * PIXELS);
    for (let k = 0; k < per; k++) batch.set(src, k * PIXELS);
    aug.apply(batch, per, out, new Rng(deriveSeed(seed, s)));
    for (let k = 0; k < per; k++) items.push({ pixels: out, offset: k * PIXELS, caption: `aug ${k + 1}` });
  }
  const title = `${ds.name} augmentation (${cfg.name}): rot ±${params.rotateDeg}°, scale ${params.scaleMin}–${params.scaleMax}, shear ±${params.shearDeg}°, shift ±${params.shiftPx}px`
    + (params.elastic ? `, elastic α=${params.elastic.alpha} σ=${params.elastic.sigma}` : '');
  writeFileAtomic(o.out, await digitGridPng(title, items, per + 1, 3));
  console.log(`wrote ${o.out} (${samples} samples × ${per} augmentations, seed ${seed})`);
  return 0;
}
