// Image -> model input (784 floats, light ink on black, [0,1]), the way MNIST digits were made.
// Shared by the service (/predict) and the training folder dataset; the API is fixed in
// .plan/CONTRACTS.md. Every sharp call sets limitInputPixels: the default (~268 Mpx) lets a
// tiny PNG with huge declared dimensions burn seconds of CPU.
import sharp, { type Metadata, type SharpOptions } from 'sharp';
import { AppError } from '../errors.js';
import { describePngDamage } from '../util/png-damage.js';
import { sniffImageFormat, type ImageFormat } from './sniff.js';
import { decodeSmallPng } from './png-fast.js';
import {
  crop, fitLongerSide, inkBoundingBox, placeByCentreOfMass, rgbaToGrey, rgbaToGreyOnBlack, toInkOnBlack,
  type GreyImage,
} from './normalise.js';

export { sniffImageFormat, type ImageFormat } from './sniff.js';

export interface PreprocessOptions { mode: 'auto' | 'none'; maxPixels: number }
export interface Preprocessed {
  pixels: Float32Array; /* 784, [0,1], light ink on black */
  blank: boolean;
  /** What was decoded (for logs and debugging). */
  source?: { format: ImageFormat; width: number; height: number };
}

export const MODEL_SIDE = 28;
/** Decoding shrinks big images to this longer side first: ink geometry survives, CPU does not burn. */
const WORKING_SIDE = 640;

function sharpOptions(maxPixels: number): SharpOptions {
  // failOn 'error': a truncated or corrupt file is refused, not half-decoded into a wrong digit.
  return { limitInputPixels: maxPixels, failOn: 'error', sequentialRead: true };
}

function decodeError(e: unknown, format: ImageFormat, bytes: Uint8Array): AppError {
  const msg = e instanceof Error ? e.message : String(e);
  // libpng says only "read error" / "Unknown error": name the damaged chunk instead when we can.
  const damage = format === 'png' && !/pixel limit|unsupported image format/i.test(msg) ? describePngDamage(bytes) : undefined;
  if (damage) return new AppError('invalid_image', `could not decode PNG: ${damage}`, { cause: e });
  if (/pixel limit/i.test(msg)) return new AppError('image_too_large', `image has more pixels than allowed: ${msg}`);
  if (/unsupported image format/i.test(msg)) return new AppError('unsupported_media_type', 'not a PNG, JPEG or WebP image');
  return new AppError('invalid_image', `could not decode ${format.toUpperCase()}: ${msg.split('\n')[0]}`, { cause: e });
}

function checkDimensions(width: number, height: number, maxPixels: number, mode: PreprocessOptions['mode']): void {
  if (width * height > maxPixels) {
    throw new AppError('image_too_large', `image is ${width}×${height} = ${width * height} pixels; the limit is ${maxPixels}`,
      { details: { width, height, maxPixels } });
  }
  if (mode === 'none' && (width !== MODEL_SIDE || height !== MODEL_SIDE)) {
    throw new AppError('wrong_size', `preprocess=none needs a ${MODEL_SIDE}×${MODEL_SIDE} image, got ${width}×${height}`,
      { details: { width, height } });
  }
}

/** Decoded 8-bit RGBA: small plain PNGs in JS (png-fast.ts), everything else by sharp. */
async function decodeRgba(bytes: Uint8Array, maxPixels: number, mode: PreprocessOptions['mode']) {
  const format = sniffImageFormat(bytes);
  if (!format) {
    throw new AppError('unsupported_media_type', bytes.length === 0
      ? 'empty file'
      : 'not a PNG, JPEG or WebP image (the type is decided from the bytes, not the name)');
  }
  const fast = format === 'png' ? decodeSmallPng(bytes) : undefined;
  if (fast) {
    checkDimensions(fast.width, fast.height, maxPixels, mode);
    return { format, width: fast.width, height: fast.height, rgba: fast.rgba, w: fast.width, h: fast.height };
  }
  const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let meta: Metadata;
  try {
    meta = await sharp(input, sharpOptions(maxPixels)).metadata();
  } catch (e) {
    throw decodeError(e, format, bytes);
  }
  const { width, height } = meta;
  if (!width || !height) throw new AppError('invalid_image', `${format.toUpperCase()} header has no dimensions`);
  checkDimensions(width, height, maxPixels, mode);
  try {
    let pipeline = sharp(input, sharpOptions(maxPixels)).autoOrient();
    if (mode === 'auto') {
      pipeline = pipeline.resize({ width: WORKING_SIDE, height: WORKING_SIDE, fit: 'inside', withoutEnlargement: true });
    }
    // 16-bit, grey, grey+alpha and palette PNGs all come out as 8-bit RGBA here.
    const { data, info } = await pipeline
      .toColourspace('srgb').ensureAlpha().raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 4 || data.length !== info.width * info.height * 4) {
      throw new Error(`decoder returned ${info.channels} channels, ${data.length} bytes for ${info.width}×${info.height}`);
    }
    return { format, width, height, rgba: new Uint8Array(data.buffer, data.byteOffset, data.length), w: info.width, h: info.height };
  } catch (e) {
    throw decodeError(e, format, bytes);
  }
}

/** Resample a [0,1] grey image to exactly width×height with sharp (antialiased when shrinking). */
async function resizeGrey(img: GreyImage, width: number, height: number): Promise<GreyImage> {
  const u8 = Buffer.alloc(img.data.length);
  for (let i = 0; i < u8.length; i++) u8[i] = Math.round(img.data[i] * 255);
  const out = await sharp(u8, { raw: { width: img.width, height: img.height, channels: 1 }, limitInputPixels: img.width * img.height })
    .resize(width, height, { fit: 'fill' })
    .toColourspace('b-w') // resize otherwise promotes one-channel raw input to sRGB
    .raw()
    .toBuffer();
  if (out.length !== width * height) throw new Error(`resize returned ${out.length} bytes, expected ${width * height}`);
  const data = new Float32Array(out.length);
  for (let i = 0; i < out.length; i++) data[i] = out[i] / 255;
  return { width, height, data };
}

export async function preprocessImage(bytes: Uint8Array, opts: PreprocessOptions): Promise<Preprocessed> {
  const d = await decodeRgba(bytes, opts.maxPixels, opts.mode);
  const source = { format: d.format, width: d.width, height: d.height };
  if (opts.mode === 'none') {
    const grey = rgbaToGreyOnBlack(d.rgba, d.w, d.h);
    let min = 255, max = 0;
    const pixels = new Float32Array(grey.data.length);
    for (let i = 0; i < pixels.length; i++) {
      const v = grey.data[i];
      if (v < min) min = v;
      if (v > max) max = v;
      pixels[i] = v / 255;
    }
    return { pixels, blank: max - min < 32, source };
  }
  const { image, blank } = toInkOnBlack(rgbaToGrey(d.rgba, d.w, d.h));
  const box = blank ? undefined : inkBoundingBox(image);
  if (!box) return { pixels: new Float32Array(MODEL_SIDE * MODEL_SIDE), blank: true, source };
  const size = fitLongerSide(box.width, box.height, 20);
  const scaled = await resizeGrey(crop(image, box), size.width, size.height);
  return { pixels: placeByCentreOfMass(scaled, MODEL_SIDE), blank: false, source };
}

/** The 28×28 model input as an 8-bit grey PNG (for /predict?debug=1 and the web page). */
export async function encodeModelInputPng(pixels: Float32Array): Promise<Buffer> {
  if (pixels.length !== MODEL_SIDE * MODEL_SIDE) throw new Error(`expected ${MODEL_SIDE * MODEL_SIDE} pixels, got ${pixels.length}`);
  const u8 = Buffer.alloc(pixels.length);
  for (let i = 0; i < u8.length; i++) u8[i] = Math.round(Math.min(1, Math.max(0, pixels[i])) * 255);
  return sharp(u8, { raw: { width: MODEL_SIDE, height: MODEL_SIDE, channels: 1 }, limitInputPixels: MODEL_SIDE * MODEL_SIDE })
    .toColourspace('b-w')
    .png()
    .toBuffer();
}
