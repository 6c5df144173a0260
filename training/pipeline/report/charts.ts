// The report figures: training curves, confusion matrix, and labelled digit grids.
import { esc, svgDoc, svgToPng, linePanel, digitPng } from './svg.js';
import { PIXELS } from '../../data/dataset.js';

export interface EpochRecord {
  epoch: number;
  lr: number;
  trainLoss: number;
  trainAcc: number;
  valLoss: number | null;
  valAcc: number | null;
  imagesPerSec: number;
  seconds: number;
}

/** Loss and accuracy per epoch, train vs validation, side by side. */
export async function curvesPng(title: string, history: EpochRecord[]): Promise<Buffer> {
  const W = 980, H = 380;
  const pts = (f: (r: EpochRecord) => number | null) => history.map((r) => [r.epoch, f(r) ?? NaN] as [number, number]);
  const loss = linePanel(0, 20, W / 2, H - 20, 'loss (cross-entropy)', 'epoch', [
    { label: 'train (smoothed, aug.)', color: '#1f77b4', points: pts((r) => r.trainLoss) },
    { label: 'validation', color: '#d62728', points: pts((r) => r.valLoss), dashed: true },
  ], (v) => v.toFixed(3));
  const acc = linePanel(W / 2, 20, W / 2, H - 20, 'accuracy (%)', 'epoch', [
    { label: 'train (aug.)', color: '#1f77b4', points: pts((r) => 100 * r.trainAcc) },
    { label: 'validation', color: '#d62728', points: pts((r) => (r.valAcc === null ? null : 100 * r.valAcc)), dashed: true },
  ], (v) => v.toFixed(2), 'bottom');
  const head = `<text x="${W / 2}" y="18" font-size="14" text-anchor="middle">${esc(title)}</text>`;
  return svgToPng(svgDoc(W, H, head + loss + acc));
}

/** Confusion matrix (rows = true, columns = predicted), counts with a colour scale. */
export async function confusionPng(title: string, matrix: number[][], classNames: string[]): Promise<Buffer> {
  const n = matrix.length;
  const cell = 46, L = 130, T = 70;
  const W = L + n * cell + 30, H = T + n * cell + 60;
  const rowSums = matrix.map((r) => r.reduce((a, b) => a + b, 0));
  let body = `<text x="${W / 2}" y="22" font-size="15" text-anchor="middle" font-weight="bold">${esc(title)}</text>`;
  body += `<text x="${L + (n * cell) / 2}" y="${T - 28}" font-size="12" text-anchor="middle">predicted</text>`;
  body += `<text x="16" y="${T + (n * cell) / 2}" font-size="12" transform="rotate(-90 16 ${T + (n * cell) / 2})" text-anchor="middle">true</text>`;
  for (let i = 0; i < n; i++) {
    const short = classNames[i]!.length > 12 ? classNames[i]!.slice(0, 11) + '…' : classNames[i]!;
    body += `<text x="${L + i * cell + cell / 2}" y="${T - 8}" font-size="11" text-anchor="middle">${esc(short.length > 3 ? String(i) : short)}</text>`;
    body += `<text x="${L - 8}" y="${T + i * cell + cell / 2 + 4}" font-size="11" text-anchor="end">${esc(short)}</text>`;
    for (let j = 0; j < n; j++) {
      const v = matrix[i]![j]!;
      const frac = rowSums[i]! > 0 ? v / rowSums[i]! : 0;
      // diagonal in blue, errors in red; intensity by fraction of the true class (errors boosted to be visible)
      const a = i === j ? 0.15 + 0.85 * frac : Math.min(1, frac * 12);
      const fill = i === j ? `rgba(31,119,180,${a.toFixed(3)})` : v > 0 ? `rgba(214,39,40,${(0.12 + 0.88 * a).toFixed(3)})` : '#fafafa';
      body += `<rect x="${L + j * cell}" y="${T + i * cell}" width="${cell}" height="${cell}" fill="${fill}" stroke="#ccc"/>`;
      if (v > 0) body += `<text x="${L + j * cell + cell / 2}" y="${T + i * cell + cell / 2 + 4}" font-size="11" text-anchor="middle" fill="${i === j && frac > 0.6 ? 'white' : 'black'}">${v}</text>`;
    }
  }
  const total = rowSums.reduce((a, b) => a + b, 0);
  const correct = matrix.reduce((a, r, i) => a + r[i]!, 0);
  body += `<text x="${W / 2}" y="${H - 20}" font-size="12" text-anchor="middle">${correct} / ${total} correct (${((100 * correct) / Math.max(1, total)).toFixed(2)} %)</text>`;
  return svgToPng(svgDoc(W, H, body));
}

export interface GridItem {
  pixels: Float32Array;
  offset: number;
  caption: string;
  /** draw the caption in red */
  alert?: boolean;
}

/** A grid of digits with a caption under each (misclassified digits, augmentation samples). */
export async function digitGridPng(title: string, items: GridItem[], columns: number, scale = 3): Promise<Buffer> {
  const size = 28 * scale, capH = 16, gap = 8, T = 34;
  const cols = Math.max(1, Math.min(columns, items.length || 1));
  const rows = Math.max(1, Math.ceil(items.length / cols));
  const W = gap + cols * (size + gap), H = T + rows * (size + capH + gap) + gap;
  let body = `<text x="${W / 2}" y="22" font-size="14" text-anchor="middle" font-weight="bold">${esc(title)}</text>`;
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!;
    if (it.offset + PIXELS > it.pixels.length) throw new Error('digitGridPng: image offset out of range');
    const x = gap + (i % cols) * (size + gap), y = T + Math.floor(i / cols) * (size + capH + gap);
    const png = await digitPng(it.pixels, it.offset, scale);
    body += `<image x="${x}" y="${y}" width="${size}" height="${size}" href="data:image/png;base64,${png.toString('base64')}"/>`;
    body += `<text x="${x + size / 2}" y="${y + size + 13}" font-size="11" text-anchor="middle" fill="${it.alert ? '#c00' : '#000'}">${esc(it.caption)}</text>`;
  }
  if (items.length === 0) body += `<text x="${W / 2}" y="${T + 30}" font-size="12" text-anchor="middle">(none)</text>`;
  return svgToPng(svgDoc(Math.max(W, 240), H, body));
}
