// Fast path for the common case: a small, plain PNG (what the web page, MNIST-style clients and
// the load test send). Decoding it here with zlib costs tens of microseconds; a sharp pipeline
// costs ~0.5–0.9 ms of CPU per image however small, most of it fixed libvips overhead.
// Anything unusual — palette, 16-bit, interlaced, transparency key (tRNS), colour profile
// (iCCP), orientation (eXIf), a bad CRC, truncation, unknown critical chunks — returns
// undefined and the caller uses sharp, so errors and rare formats behave exactly as before.
import { crc32, inflateSync } from 'node:zlib';

/** Larger images go to sharp: they are rare, and decoding them here would hold the event loop. */
export const FAST_PNG_MAX_PIXELS = 128 * 128;

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Samples per pixel by PNG colour type (0 grey, 2 RGB, 4 grey+alpha, 6 RGBA); 3 (palette) is not here. */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };
const FALLBACK_CHUNKS = new Set(['tRNS', 'iCCP', 'eXIf', 'PLTE']);

export interface FastPng { width: number; height: number; rgba: Uint8Array }

/** Width and height from the IHDR chunk, if the bytes start like a PNG (no CRC check). */
export function pngDimensions(bytes: Uint8Array): { width: number; height: number } | undefined {
  if (bytes.length < 24 || !SIGNATURE.every((b, i) => bytes[i] === b)) return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(12) !== 0x49484452) return undefined; // 'IHDR'
  return { width: v.getUint32(16), height: v.getUint32(20) };
}

/** 8-bit RGBA pixels of a small plain PNG, or undefined when sharp should decode it. */
export function decodeSmallPng(bytes: Uint8Array): FastPng | undefined {
  if (bytes.length < 33 || !SIGNATURE.every((b, i) => bytes[i] === b)) return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let width = 0, height = 0, channels = 0;
  const idat: Uint8Array[] = [];
  let pos = 8;
  let ended = false;
  while (pos + 12 <= bytes.length) {
    const len = v.getUint32(pos);
    if (pos + 12 + len > bytes.length) return undefined; // truncated
    const type = String.fromCharCode(bytes[pos + 4], bytes[pos + 5], bytes[pos + 6], bytes[pos + 7]);
    const body = bytes.subarray(pos + 8, pos + 8 + len);
    if (crc32(bytes.subarray(pos + 4, pos + 8 + len)) !== v.getUint32(pos + 8 + len)) return undefined;
    if (pos === 8) {
      if (type !== 'IHDR' || len !== 13) return undefined;
      width = v.getUint32(pos + 8);
      height = v.getUint32(pos + 12);
      const [depth, colour, compression, filter, interlace] = body.subarray(8, 13);
      channels = CHANNELS[colour] ?? 0;
      if (depth !== 8 || !channels || compression !== 0 || filter !== 0 || interlace !== 0) return undefined;
      if (width < 1 || height < 1 || width * height > FAST_PNG_MAX_PIXELS) return undefined;
    } else if (type === 'IDAT') {
      idat.push(body);
    } else if (type === 'IEND') {
      ended = true;
      break;
    } else if (FALLBACK_CHUNKS.has(type) || (type.charCodeAt(0) & 0x20) === 0) {
      return undefined; // changes the pixels, or a critical chunk we do not know
    }
    pos += 12 + len;
  }
  if (!ended || idat.length === 0) return undefined;
  let raw: Buffer;
  try {
    raw = inflateSync(idat.length === 1 ? idat[0] : Buffer.concat(idat));
  } catch {
    return undefined;
  }
  const stride = width * channels;
  if (raw.length !== height * (stride + 1)) return undefined;
  const px = unfilter(raw, height, stride, channels);
  if (!px) return undefined;
  return { width, height, rgba: toRgba(px, width * height, channels) };
}

/** Undo the per-row PNG filters (None, Sub, Up, Average, Paeth) into a new buffer. */
function unfilter(raw: Uint8Array, height: number, stride: number, bpp: number): Uint8Array | undefined {
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    const prev = row - stride; // only read when y > 0
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? out[row + x - bpp] : 0;
      const b = y > 0 ? out[prev + x] : 0;
      const c = x >= bpp && y > 0 ? out[prev + x - bpp] : 0;
      let p: number;
      switch (f) {
        case 0: p = 0; break;
        case 1: p = a; break;
        case 2: p = b; break;
        case 3: p = (a + b) >> 1; break;
        case 4: {
          const pa = Math.abs(b - c), pb = Math.abs(a - c), pc = Math.abs(a + b - 2 * c);
          p = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default: return undefined;
      }
      out[row + x] = (raw[src + x] + p) & 0xff;
    }
  }
  return out;
}

function toRgba(px: Uint8Array, n: number, channels: number): Uint8Array {
  if (channels === 4) return px;
  const out = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    const o = i * 4;
    if (channels === 1) {
      out[o] = out[o + 1] = out[o + 2] = px[i];
      out[o + 3] = 255;
    } else if (channels === 2) {
      out[o] = out[o + 1] = out[o + 2] = px[i * 2];
      out[o + 3] = px[i * 2 + 1];
    } else {
      out[o] = px[i * 3];
      out[o + 1] = px[i * 3 + 1];
      out[o + 2] = px[i * 3 + 2];
      out[o + 3] = 255;
    }
  }
  return out;
}
