// Renders 28×28 MNIST digits (light ink on black) the ways users send them: dark ink on white,
// on a transparent canvas, big and off-centre, 16-bit, palette, interlaced, JPEG, WebP.
import sharp from 'sharp';
import { encodePng } from './png.js';

const LIMIT = { limitInputPixels: 50_000_000 };

export type Variant = 'plain' | 'inverted' | 'transparent' | 'big-offcentre' | 'grey16' | 'palette';
export const VARIANTS: Variant[] = ['plain', 'inverted', 'transparent', 'big-offcentre', 'grey16', 'palette'];

/** Scale a 28×28 digit by `k` (smooth), returning grey samples of (28k)². */
async function upscale(digit: Uint8Array, k: number): Promise<{ side: number; data: Buffer }> {
  const side = 28 * k;
  const data = await sharp(Buffer.from(digit), { raw: { width: 28, height: 28, channels: 1 }, ...LIMIT })
    .resize(side, side, { kernel: 'cubic' }).toColourspace('b-w').raw().toBuffer();
  return { side, data };
}

/**
 * One user-style PNG of an MNIST digit. `rand` picks canvas size and position where the variant
 * has freedom (fresh per call, so tests draw new layouts every run).
 */
export async function renderDigit(digit: Uint8Array, variant: Variant, rand: () => number = Math.random): Promise<Buffer> {
  switch (variant) {
    case 'plain':
      return encodePng({ width: 28, height: 28, colour: 'grey', samples: digit });
    case 'inverted':
      return encodePng({ width: 28, height: 28, colour: 'grey', samples: Array.from(digit, (v) => 255 - v) });
    case 'transparent': {
      // Black strokes on a fully transparent canvas, as a drawing app exports them; the ink is in alpha.
      const { side, data } = await upscale(digit, 4);
      const rgba = new Uint8Array(side * side * 4);
      for (let i = 0; i < side * side; i++) rgba[i * 4 + 3] = data[i];
      return encodePng({ width: side, height: side, colour: 'rgba', samples: rgba });
    }
    case 'big-offcentre': {
      // A 4-8× digit somewhere on a large white sheet of grey-ish paper, RGB.
      const k = 4 + Math.floor(rand() * 5);
      const { side, data } = await upscale(digit, k);
      const width = side + 100 + Math.floor(rand() * 400);
      const height = side + 60 + Math.floor(rand() * 300);
      const ox = Math.floor(rand() * (width - side));
      const oy = Math.floor(rand() * (height - side));
      const paper = 235 + Math.floor(rand() * 20);
      const rgb = new Uint8Array(width * height * 3).fill(paper);
      for (let y = 0; y < side; y++) {
        for (let x = 0; x < side; x++) {
          const ink = data[y * side + x] / 255;
          const v = Math.round(paper * (1 - ink) + 20 * ink);
          const o = ((oy + y) * width + ox + x) * 3;
          rgb[o] = v; rgb[o + 1] = v; rgb[o + 2] = Math.min(255, v + 10);
        }
      }
      return encodePng({ width, height, colour: 'rgb', samples: rgb });
    }
    case 'grey16':
      // 16-bit grey, dark ink on white.
      return encodePng({ width: 28, height: 28, colour: 'grey', bitDepth: 16, samples: Array.from(digit, (v) => (255 - v) * 257) });
    case 'palette': {
      // 16-colour palette, dark ink on white: the digit quantised to 16 grey levels.
      const palette: Array<[number, number, number]> = Array.from({ length: 16 }, (_, i) => [255 - i * 17, 255 - i * 17, 255 - i * 17]);
      return encodePng({ width: 28, height: 28, colour: 'palette', palette, samples: Array.from(digit, (v) => Math.round(v / 17)) });
    }
  }
}

/** Every PNG colour type / depth the service must decode, plus interlaced, JPEG and WebP. */
export type ImageKind = 'grey8' | 'grey16' | 'grey-alpha' | 'rgb' | 'rgba' | 'rgba16' | 'palette' | 'palette-trns' | 'interlaced' | 'jpeg' | 'webp';
export const IMAGE_KINDS: ImageKind[] = ['grey8', 'grey16', 'grey-alpha', 'rgb', 'rgba', 'rgba16', 'palette', 'palette-trns', 'interlaced', 'jpeg', 'webp'];

/** The digit as dark ink on white (or on transparency for alpha kinds) in the given encoding. */
export async function encodeKind(digit: Uint8Array, kind: ImageKind): Promise<Buffer> {
  const ink = Array.from(digit);
  const paper = ink.map((v) => 255 - v);
  const w = 28, h = 28;
  switch (kind) {
    case 'grey8': return encodePng({ width: w, height: h, colour: 'grey', samples: paper });
    case 'grey16': return encodePng({ width: w, height: h, colour: 'grey', bitDepth: 16, samples: paper.map((v) => v * 257) });
    case 'grey-alpha': return encodePng({ width: w, height: h, colour: 'grey-alpha', samples: ink.flatMap((v) => [0, v]) });
    case 'rgb': return encodePng({ width: w, height: h, colour: 'rgb', samples: paper.flatMap((v) => [v, v, Math.min(255, v + 5)]) });
    case 'rgba': return encodePng({ width: w, height: h, colour: 'rgba', samples: ink.flatMap((v) => [10, 10, 40, v]) });
    case 'rgba16': return encodePng({ width: w, height: h, colour: 'rgba', bitDepth: 16, samples: ink.flatMap((v) => [0, 0, 0, v * 257]) });
    case 'palette': {
      const palette: Array<[number, number, number]> = Array.from({ length: 256 }, (_, i) => [255 - i, 255 - i, 255 - i]);
      return encodePng({ width: w, height: h, colour: 'palette', palette, samples: ink });
    }
    case 'palette-trns': {
      // ink levels as palette alpha over black: transparency in a palette image
      const palette: Array<[number, number, number]> = Array.from({ length: 256 }, () => [0, 0, 0]);
      return encodePng({ width: w, height: h, colour: 'palette', palette, paletteAlpha: Array.from({ length: 256 }, (_, i) => i), samples: ink });
    }
    case 'interlaced':
      return sharp(Buffer.from(paper), { raw: { width: w, height: h, channels: 1 }, ...LIMIT }).toColourspace('b-w').png({ progressive: true }).toBuffer();
    case 'jpeg':
      return sharp(Buffer.from(paper), { raw: { width: w, height: h, channels: 1 }, ...LIMIT }).resize(112, 112).jpeg({ quality: 95 }).toBuffer();
    case 'webp':
      return sharp(Buffer.from(paper), { raw: { width: w, height: h, channels: 1 }, ...LIMIT }).resize(112, 112).webp({ quality: 95 }).toBuffer();
  }
}

/** Mean absolute difference of two 784-float images (0 = identical, 1 = opposite). */
export function meanAbsDiff(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

function shifted(b: Float32Array, dx: number, dy: number): Float32Array {
  const out = new Float32Array(784);
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const sx = x - dx, sy = y - dy;
      if (sx >= 0 && sx < 28 && sy >= 0 && sy < 28) out[y * 28 + x] = b[sy * 28 + sx];
    }
  }
  return out;
}

/**
 * meanAbsDiff after the best shift of up to one pixel: centring by mass rounds to whole pixels,
 * so a rendering that moves the mass centre across a half-pixel boundary lands 1 px over.
 */
export function alignedDiff(a: Float32Array, b: Float32Array): number {
  let best = Infinity;
  for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) best = Math.min(best, meanAbsDiff(a, shifted(b, dx, dy)));
  return best;
}
