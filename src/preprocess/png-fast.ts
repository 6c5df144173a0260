// Fast path for the common case: a small, plain PNG (what the web page, MNIST-style clients and
// the load test send). Decoding it in-process with pngjs costs tens of microseconds; a sharp
// pipeline costs ~0.5–0.9 ms of CPU per image however small, most of it fixed libvips overhead.
// Anything unusual — palette, 16-bit, interlaced, transparency key (tRNS), colour profile
// (iCCP), orientation (eXIf), a bad CRC, truncation, unknown critical chunks — returns
// undefined and the caller uses sharp, so errors and rare formats behave exactly as before.
import { PNG } from 'pngjs';

/** Larger images go to sharp: they are rare, and decoding them here would hold the event loop. */
export const FAST_PNG_MAX_PIXELS = 128 * 128;

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** PNG colour types taken here: 0 grey, 2 RGB, 4 grey+alpha, 6 RGBA (3, palette, goes to sharp). */
const PLAIN_COLOUR_TYPES = new Set([0, 2, 4, 6]);
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
  if (!isSmallPlainPng(bytes)) return undefined;
  try {
    // pngjs checks every CRC and the zlib stream; any damage throws and sharp reports it.
    const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { checkCRC: true });
    return { width: png.width, height: png.height, rgba: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
  } catch {
    return undefined;
  }
}

/** Screens the chunk list (no decoding): 8-bit, non-interlaced, plain colour type, small, and
 * no chunk that changes the pixels or that we do not know. */
function isSmallPlainPng(bytes: Uint8Array): boolean {
  const dims = pngDimensions(bytes);
  if (!dims || bytes.length < 33) return false;
  const [depth, colour, compression, filter, interlace] = bytes.subarray(24, 29);
  if (depth !== 8 || !PLAIN_COLOUR_TYPES.has(colour) || compression !== 0 || filter !== 0 || interlace !== 0) return false;
  if (dims.width < 1 || dims.height < 1 || dims.width * dims.height > FAST_PNG_MAX_PIXELS) return false;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let pos = 8; pos + 12 <= bytes.length; ) {
    const len = v.getUint32(pos);
    if (pos + 12 + len > bytes.length) return false; // truncated
    const type = String.fromCharCode(bytes[pos + 4], bytes[pos + 5], bytes[pos + 6], bytes[pos + 7]);
    if (type === 'IEND') return true;
    const known = type === 'IHDR' || type === 'IDAT';
    if (!known && (FALLBACK_CHUNKS.has(type) || (type.charCodeAt(0) & 0x20) === 0)) return false;
    pos += 12 + len;
  }
  return false; // no IEND
}
