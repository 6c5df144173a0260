// A minimal PNG encoder for tests, so each colour type / bit depth the service must accept is
// produced exactly (sharp picks its own output encoding). Interlaced PNGs come from sharp
// (progressive: true) and tests check the IHDR byte. Also: corrupters for the bad-input corpus.
import { deflateSync } from 'node:zlib';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

export type PngColour = 'grey' | 'grey-alpha' | 'rgb' | 'rgba' | 'palette';
const COLOUR_TYPE: Record<PngColour, number> = { grey: 0, rgb: 2, palette: 3, 'grey-alpha': 4, rgba: 6 };
const CHANNELS: Record<PngColour, number> = { grey: 1, rgb: 3, palette: 1, 'grey-alpha': 2, rgba: 4 };

export interface PngSpec {
  width: number;
  height: number;
  colour: PngColour;
  bitDepth?: 8 | 16;
  /** Samples, row-major, CHANNELS[colour] per pixel, each in [0, 2^bitDepth); palette: indices. */
  samples: ArrayLike<number>;
  /** palette only: RGB triples. */
  palette?: Array<[number, number, number]>;
  /** palette only: alpha per palette entry (tRNS). */
  paletteAlpha?: number[];
}

export function encodePng(spec: PngSpec): Buffer {
  const depth = spec.bitDepth ?? 8;
  const ch = CHANNELS[spec.colour];
  const bps = depth / 8;
  const rowBytes = spec.width * ch * bps;
  const raw = Buffer.alloc((rowBytes + 1) * spec.height);
  for (let y = 0; y < spec.height; y++) {
    raw[y * (rowBytes + 1)] = 0; // filter: none
    for (let i = 0; i < spec.width * ch; i++) {
      const v = spec.samples[y * spec.width * ch + i];
      const at = y * (rowBytes + 1) + 1 + i * bps;
      if (depth === 16) raw.writeUInt16BE(v, at);
      else raw[at] = v;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(spec.width, 0);
  ihdr.writeUInt32BE(spec.height, 4);
  ihdr[8] = depth;
  ihdr[9] = COLOUR_TYPE[spec.colour];
  const parts = [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr)];
  if (spec.colour === 'palette') {
    const pal = spec.palette ?? [];
    parts.push(chunk('PLTE', Uint8Array.from(pal.flat())));
    if (spec.paletteAlpha) parts.push(chunk('tRNS', Uint8Array.from(spec.paletteAlpha)));
  }
  parts.push(chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0)));
  return Buffer.concat(parts);
}

/** A PNG whose IHDR declares width×height but whose data is tiny (a decompression-bomb shape). */
export function pngWithDeclaredSize(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(1024))),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/** Flip one byte inside the IDAT data without fixing the CRC. */
export function withBadCrc(png: Buffer): Buffer {
  const out = Buffer.from(png);
  const idat = out.indexOf('IDAT', 8, 'ascii');
  out[idat + 6] ^= 0xff;
  return out;
}

export interface Ihdr { width: number; height: number; bitDepth: number; colourType: number; interlace: number }
export function readIhdr(png: Uint8Array): Ihdr {
  const b = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20), bitDepth: b[24], colourType: b[25], interlace: b[28] };
}
