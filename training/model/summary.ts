// Per-layer arithmetic over an ArchConfig: output shape, receptive field, parameters and MACs,
// next to the same network with every separable block replaced by a standard k×k conv of the same
// shape. Pure arithmetic — no engine needed — and checked against the engine's parameter shapes
// in the tests. MACs count conv and linear multiply-adds per image (BN folds into the convs at
// export; activations and pooling are not multiply-adds).
import type { ArchConfig, BlockSpec } from '../nn/arch.js';

export interface LayerRow {
  name: string;
  /** e.g. "sep 3×3 d2 48→64" */
  what: string;
  out: [number, number, number];
  /** receptive field (pixels, square) of one output unit on the input */
  rf: number;
  params: number;
  macs: number;
  /** the same layer as a standard conv (equal for non-separable layers) */
  stdParams: number;
  stdMacs: number;
}

export interface ArchSummary {
  name: string;
  rows: LayerRow[];
  totals: { params: number; macs: number; stdParams: number; stdMacs: number };
  /** problems with the dilation schedule (empty when fine) */
  dilationWarnings: string[];
}

function convOut(h: number, k: number, d: number, s: number): number {
  const pad = (d * (k - 1)) / 2;
  return Math.floor((h + 2 * pad - d * (k - 1) - 1) / s) + 1;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * Gridding check (Wang et al. 2018, "hybrid dilated convolution"): within one run of dilated
 * convs at one resolution, rates sharing a common factor > 1 (2, 4 or 2, 2) leave holes in the
 * receptive field. Rates like 1, 2, 3 or 1, 2, 5 do not.
 */
export function dilationWarnings(arch: ArchConfig): string[] {
  const warnings: string[] = [];
  let run: { idx: number; d: number }[] = [];
  const flush = () => {
    if (run.length >= 2) {
      const g = run.map((r) => r.d).reduce(gcd);
      if (g > 1) warnings.push(`blocks ${run.map((r) => r.idx).join(', ')}: dilations ${run.map((r) => r.d).join(', ')} share the factor ${g} (gridding)`);
    }
    run = [];
  };
  arch.blocks.forEach((b, i) => {
    if (b.kind === 'separable' || b.kind === 'conv') {
      if ((b.stride ?? 1) !== 1) flush();
      run.push({ idx: i, d: b.dilation });
    } else if (b.kind === 'maxpool') flush();
  });
  flush();
  return warnings;
}

function describe(b: BlockSpec, cin: number): string {
  switch (b.kind) {
    case 'separable': return `sep ${b.k}×${b.k} d${b.dilation}${(b.stride ?? 1) > 1 ? ' s2' : ''} ${cin}→${b.out}${b.dwNorm ? ' dwBN' : ''}`;
    case 'conv': return `conv ${b.k}×${b.k} d${b.dilation}${(b.stride ?? 1) > 1 ? ' s2' : ''} ${cin}→${b.out}`;
    case 'maxpool': return `maxpool ${b.k ?? 2}×${b.k ?? 2} s2`;
    case 'dropout': return `dropout ${b.p}`;
  }
}

export function summarize(arch: ArchConfig): ArchSummary {
  const rows: LayerRow[] = [];
  let [c, h, w]: number[] = [...arch.inputShape];
  let rf = 1;
  let jump = 1;
  const bnParams = (n: number) => 2 * n; // gamma + beta (running stats are buffers, not parameters)

  const sk = arch.stem.k;
  h = convOut(h, sk, 1, 1); w = convOut(w, sk, 1, 1);
  rf += sk - 1;
  const stemP = sk * sk * c * arch.stem.out + bnParams(arch.stem.out);
  const stemM = h * w * sk * sk * c * arch.stem.out;
  c = arch.stem.out;
  rows.push({ name: 'stem', what: `conv ${sk}×${sk} 1→${c}`, out: [c, h, w], rf, params: stemP, macs: stemM, stdParams: stemP, stdMacs: stemM });

  arch.blocks.forEach((b, i) => {
    const name = `blocks.${i}`;
    const what = describe(b, c);
    if (b.kind === 'separable' || b.kind === 'conv') {
      const s = b.stride ?? 1;
      const keff = b.dilation * (b.k - 1) + 1;
      const ho = convOut(h, b.k, b.dilation, s), wo = convOut(w, b.k, b.dilation, s);
      rf += (keff - 1) * jump;
      jump *= s;
      const kk = b.k * b.k;
      const std = { p: kk * c * b.out + bnParams(b.out), m: ho * wo * kk * c * b.out };
      let p = std.p, m = std.m;
      if (b.kind === 'separable') {
        p = kk * c + (b.dwNorm ? bnParams(c) : 0) + c * b.out + bnParams(b.out);
        m = ho * wo * (kk * c + c * b.out);
      }
      h = ho; w = wo; c = b.out;
      rows.push({ name, what, out: [c, h, w], rf, params: p, macs: m, stdParams: std.p, stdMacs: std.m });
    } else if (b.kind === 'maxpool') {
      const k = b.k ?? 2;
      const pad = k === 3 ? 1 : 0;
      h = Math.floor((h + 2 * pad - k) / 2) + 1; w = Math.floor((w + 2 * pad - k) / 2) + 1;
      rf += (k - 1) * jump;
      jump *= 2;
      rows.push({ name, what, out: [c, h, w], rf, params: 0, macs: 0, stdParams: 0, stdMacs: 0 });
    } else {
      rows.push({ name, what, out: [c, h, w], rf, params: 0, macs: 0, stdParams: 0, stdMacs: 0 });
    }
  });
  rows.push({ name: 'gap', what: 'global average pool', out: [c, 1, 1], rf, params: 0, macs: 0, stdParams: 0, stdMacs: 0 });
  if (arch.headDropout > 0) rows.push({ name: 'head.dropout', what: `dropout ${arch.headDropout}`, out: [c, 1, 1], rf, params: 0, macs: 0, stdParams: 0, stdMacs: 0 });
  const fcP = c * arch.classes + arch.classes;
  const fcM = c * arch.classes;
  rows.push({ name: 'head.fc', what: `linear ${c}→${arch.classes}`, out: [arch.classes, 1, 1], rf, params: fcP, macs: fcM, stdParams: fcP, stdMacs: fcM });

  const totals = rows.reduce((t, r) => ({ params: t.params + r.params, macs: t.macs + r.macs, stdParams: t.stdParams + r.stdParams, stdMacs: t.stdMacs + r.stdMacs }),
    { params: 0, macs: 0, stdParams: 0, stdMacs: 0 });
  return { name: arch.name, rows, totals, dilationWarnings: dilationWarnings(arch) };
}

/** The same network with every separable block turned into a standard conv (the ablation twin). */
export function standardTwin(arch: ArchConfig): ArchConfig {
  return {
    ...arch,
    name: `${arch.name}-standard`,
    blocks: arch.blocks.map((b) => (b.kind === 'separable' ? { kind: 'conv', out: b.out, k: b.k, dilation: b.dilation, ...(b.stride ? { stride: b.stride } : {}) } : b)),
  };
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

/** A fixed-width text table (what `summary` prints), ends with totals and the ratio. */
export function formatSummary(s: ArchSummary): string {
  const head = ['layer', 'what', 'output', 'RF', 'params', 'MACs', 'std params', 'std MACs'];
  const body = s.rows.map((r) => [r.name, r.what, r.out.join('×'), String(r.rf), fmt(r.params), fmt(r.macs), fmt(r.stdParams), fmt(r.stdMacs)]);
  const t = s.totals;
  const total = ['total', '', '', '', fmt(t.params), fmt(t.macs), fmt(t.stdParams), fmt(t.stdMacs)];
  const all = [head, ...body, total];
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => pad(c, widths[i]!, i >= 3)).join('  ');
  const sep = widths.map((n) => '-'.repeat(n)).join('  ');
  const out = [`${s.name}`, line(head), sep, ...body.map(line), sep, line(total),
    `separable / standard: params ${(t.params / t.stdParams).toFixed(3)} (${(t.stdParams / t.params).toFixed(1)}× fewer), `
    + `MACs ${(t.macs / t.stdMacs).toFixed(3)} (${(t.stdMacs / t.macs).toFixed(1)}× fewer)`];
  if (s.dilationWarnings.length > 0) out.push(...s.dilationWarnings.map((w) => `warning: ${w}`));
  return out.join('\n');
}
