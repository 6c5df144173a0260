// Pure pixel arithmetic of the MNIST normalisation, on one-channel images held as Float32Array
// in [0,255]. Kept free of sharp so each step can be tested on hand-made arrays.

export interface GreyImage { width: number; height: number; data: Float32Array }

/** Below this ink-vs-background contrast (out of 255) an image counts as blank. */
export const BLANK_CONTRAST = 32;
/** A pixel belongs to the ink's bounding box when it is this bright after normalising (0..1). */
export const INK_THRESHOLD = 0.1;

/**
 * RGBA (8-bit, interleaved) -> grey, compositing alpha first. sharp's greyscale() on a
 * black-stroke-on-transparent canvas gives all zeros (the RGB under alpha is black everywhere),
 * so the backdrop is chosen to contrast with the ink: dark ink goes on white, light ink on black.
 */
export function rgbaToGrey(rgba: Uint8Array, width: number, height: number): GreyImage {
  const n = width * height;
  const lum = new Float32Array(n);
  let minAlpha = 255;
  let inkSum = 0;
  let inkWeight = 0;
  for (let i = 0; i < n; i++) {
    const o = i * 4;
    const l = 0.299 * rgba[o] + 0.587 * rgba[o + 1] + 0.114 * rgba[o + 2];
    const a = rgba[o + 3];
    lum[i] = l;
    if (a < minAlpha) minAlpha = a;
    inkSum += l * a;
    inkWeight += a;
  }
  if (minAlpha === 255) return { width, height, data: lum };
  const backdrop = inkWeight > 0 && inkSum / inkWeight < 127.5 ? 255 : 0;
  for (let i = 0; i < n; i++) {
    const a = rgba[i * 4 + 3] / 255;
    lum[i] = lum[i] * a + backdrop * (1 - a);
  }
  return { width, height, data: lum };
}

/** RGBA -> grey for preprocess=none: pixels as they are, transparency counts as black. */
export function rgbaToGreyOnBlack(rgba: Uint8Array, width: number, height: number): GreyImage {
  const n = width * height;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * 4;
    data[i] = (0.299 * rgba[o] + 0.587 * rgba[o + 1] + 0.114 * rgba[o + 2]) * (rgba[o + 3] / 255);
  }
  return { width, height, data };
}

/** Median of the image's outer frame (2% of the short side, at least 1 px): the paper colour. */
export function borderLevel(img: GreyImage): number {
  const { width: w, height: h, data } = img;
  const f = Math.max(1, Math.round(0.02 * Math.min(w, h)));
  const values: number[] = [];
  for (let y = 0; y < h; y++) {
    const edgeRow = y < f || y >= h - f;
    for (let x = 0; x < w; x++) {
      if (edgeRow || x < f || x >= w - f) values.push(data[y * w + x]);
    }
  }
  values.sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)];
}

/**
 * Light ink on a black background with values in [0,1], as MNIST: invert when the paper is light,
 * then stretch so the paper is 0 and the brightest ink is 1. `blank` when there is no ink.
 */
export function toInkOnBlack(img: GreyImage): { image: GreyImage; blank: boolean } {
  const paper = borderLevel(img);
  const invert = paper > 127.5;
  const src = img.data;
  const data = new Float32Array(src.length);
  let max = 0;
  for (let i = 0; i < src.length; i++) {
    const v = invert ? 255 - src[i] : src[i];
    data[i] = v;
    if (v > max) max = v;
  }
  const bg = invert ? 255 - paper : paper;
  const contrast = max - bg;
  if (contrast < BLANK_CONTRAST) return { image: { ...img, data: new Float32Array(src.length) }, blank: true };
  for (let i = 0; i < data.length; i++) data[i] = Math.min(1, Math.max(0, (data[i] - bg) / contrast));
  return { image: { ...img, data }, blank: false };
}

export interface Box { x: number; y: number; width: number; height: number }

/** Bounding box of pixels brighter than `threshold` (image in [0,1]); undefined when none. */
export function inkBoundingBox(img: GreyImage, threshold = INK_THRESHOLD): Box | undefined {
  const { width: w, height: h, data } = img;
  let x0 = w, y0 = h, x1 = -1, y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (data[y * w + x] > threshold) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? undefined : { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

export function crop(img: GreyImage, box: Box): GreyImage {
  const data = new Float32Array(box.width * box.height);
  for (let y = 0; y < box.height; y++) {
    const from = (box.y + y) * img.width + box.x;
    data.set(img.data.subarray(from, from + box.width), y * box.width);
  }
  return { width: box.width, height: box.height, data };
}

/** Size of the box after scaling its longer side to `target`, keeping the aspect ratio. */
export function fitLongerSide(width: number, height: number, target = 20): { width: number; height: number } {
  if (width >= height) return { width: target, height: Math.max(1, Math.round((target * height) / width)) };
  return { width: Math.max(1, Math.round((target * width) / height)), height: target };
}

/** Paste `img` into a size×size field so that its centre of mass lands on the field's centre. */
export function placeByCentreOfMass(img: GreyImage, size = 28): Float32Array {
  const { width: w, height: h, data } = img;
  let mass = 0, mx = 0, my = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = data[y * w + x];
      mass += v;
      mx += v * x;
      my += v * y;
    }
  }
  // Pixel-index coordinates, centre at index size/2 (14): where MNIST's own digits have it.
  const cx = mass > 0 ? mx / mass : (w - 1) / 2;
  const cy = mass > 0 ? my / mass : (h - 1) / 2;
  const clamp = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  const ox = clamp(Math.round(size / 2 - cx), Math.max(0, size - w));
  const oy = clamp(Math.round(size / 2 - cy), Math.max(0, size - h));
  const out = new Float32Array(size * size);
  for (let y = 0; y < h && y + oy < size; y++) {
    for (let x = 0; x < w && x + ox < size; x++) out[(y + oy) * size + x + ox] = data[y * w + x];
  }
  return out;
}
