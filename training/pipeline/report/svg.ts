// Drawing for reports: SVG built as text, rendered to PNG by sharp (librsvg). Digit images are
// embedded as PNG data URIs encoded by sharp.
import sharp from 'sharp';
import { IMAGE_SIZE, PIXELS } from '../../data/dataset.js';

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export async function svgToPng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg, 'utf8')).png().toBuffer();
}

/** One 28×28 [0,1] image as a PNG (nearest-neighbour upscaled by `scale`). */
export async function digitPng(pixels: Float32Array, offset = 0, scale = 1): Promise<Buffer> {
  const raw = Buffer.alloc(PIXELS);
  for (let i = 0; i < PIXELS; i++) raw[i] = Math.round(Math.min(1, Math.max(0, pixels[offset + i]!)) * 255);
  let img = sharp(raw, { raw: { width: IMAGE_SIZE, height: IMAGE_SIZE, channels: 1 } });
  if (scale !== 1) img = img.resize(IMAGE_SIZE * scale, IMAGE_SIZE * scale, { kernel: 'nearest' });
  return img.png().toBuffer();
}

export function svgDoc(width: number, height: number, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, sans-serif">`
    + `<rect width="${width}" height="${height}" fill="white"/>${body}</svg>`;
}

/** "nice" axis ticks covering [lo, hi] */
export function ticks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

export interface Series {
  label: string;
  color: string;
  points: [number, number][];
  dashed?: boolean;
}

/** A line chart panel at (x0, y0) of size w×h, as SVG elements. */
export function linePanel(x0: number, y0: number, w: number, h: number, title: string, xLabel: string, series: Series[], yFmt: (v: number) => string,
  legend: 'top' | 'bottom' = 'top'): string {
  const pts = series.flatMap((s) => s.points);
  if (pts.length === 0) return '';
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]).filter(Number.isFinite);
  let xmin = Math.min(...xs), xmax = Math.max(...xs);
  if (xmax === xmin) { xmin -= 1; xmax += 1; }
  let ymin = Math.min(...ys), ymax = Math.max(...ys);
  const padY = (ymax - ymin) * 0.08 || Math.abs(ymax) * 0.05 || 1;
  ymin -= padY; ymax += padY;
  const L = 62, R = 14, T = 30, B = 42;
  const pw = w - L - R, ph = h - T - B;
  const sx = (v: number) => x0 + L + ((v - xmin) / (xmax - xmin)) * pw;
  const sy = (v: number) => y0 + T + (1 - (v - ymin) / (ymax - ymin)) * ph;
  let out = `<text x="${x0 + L + pw / 2}" y="${y0 + 18}" font-size="15" text-anchor="middle" font-weight="bold">${esc(title)}</text>`;
  out += `<rect x="${x0 + L}" y="${y0 + T}" width="${pw}" height="${ph}" fill="none" stroke="#444"/>`;
  for (const v of ticks(ymin, ymax)) {
    out += `<line x1="${x0 + L}" x2="${x0 + L + pw}" y1="${sy(v)}" y2="${sy(v)}" stroke="#ddd"/>`;
    out += `<text x="${x0 + L - 6}" y="${sy(v) + 4}" font-size="11" text-anchor="end">${esc(yFmt(v))}</text>`;
  }
  const xt = ticks(xmin, xmax, Math.min(10, Math.max(2, Math.round(xmax - xmin))));
  for (const v of xt) {
    out += `<line x1="${sx(v)}" x2="${sx(v)}" y1="${y0 + T + ph}" y2="${y0 + T + ph + 4}" stroke="#444"/>`;
    out += `<text x="${sx(v)}" y="${y0 + T + ph + 17}" font-size="11" text-anchor="middle">${esc(String(v))}</text>`;
  }
  out += `<text x="${x0 + L + pw / 2}" y="${y0 + h - 6}" font-size="12" text-anchor="middle">${esc(xLabel)}</text>`;
  series.forEach((s, i) => {
    const ok = s.points.filter((p) => Number.isFinite(p[1]));
    if (ok.length === 0) return;
    const d = ok.map((p, j) => `${j ? 'L' : 'M'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(' ');
    out += `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6,4"' : ''}/>`;
    for (const p of ok) out += `<circle cx="${sx(p[0]).toFixed(1)}" cy="${sy(p[1]).toFixed(1)}" r="2.5" fill="${s.color}"/>`;
    const ly = legend === 'top' ? y0 + T + 14 + i * 16 : y0 + T + ph - 10 - (series.length - 1 - i) * 16;
    out += `<line x1="${x0 + L + pw - 165}" x2="${x0 + L + pw - 145}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6,4"' : ''}/>`;
    out += `<text x="${x0 + L + pw - 140}" y="${ly}" font-size="11">${esc(s.label)}</text>`;
  });
  return out;
}
