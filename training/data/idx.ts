// IDX file reader (the format of the original MNIST / Fashion-MNIST files), plain or gzipped.
// Format: 2 zero bytes, a type code, the number of dimensions, then one big-endian uint32 per
// dimension, then the elements in row-major order. Only unsigned bytes (0x08) are needed by
// the datasets we read; other type codes are reported rather than silently misread.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export class IdxError extends Error {
  readonly file: string;
  readonly problem: string;
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'IdxError';
    this.file = file;
    this.problem = problem;
  }
}

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const TYPE_NAMES: Record<number, string> = {
  0x08: 'unsigned byte', 0x09: 'signed byte', 0x0b: 'int16', 0x0c: 'int32', 0x0d: 'float32', 0x0e: 'float64',
};

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function hex(n: number): string {
  return '0x' + n.toString(16).padStart(2, '0');
}

/** Parse IDX bytes (already decompressed or gzipped — detected by the gzip magic, not the name). */
export function parseIdx(raw: Uint8Array, file = '<buffer>'): IdxArray {
  let bytes = raw;
  if (isGzip(raw)) {
    try {
      bytes = new Uint8Array(gunzipSync(raw));
    } catch (e) {
      throw new IdxError(file, `corrupt gzip data (${(e as Error).message})`);
    }
  } else if (file.endsWith('.gz')) {
    // A .gz name without gzip magic: say so rather than reporting a puzzling IDX magic error.
    throw new IdxError(file, `named .gz but is not gzip data (first bytes ${hex(raw[0] ?? 0)} ${hex(raw[1] ?? 0)})`);
  }
  if (bytes.length === 0) throw new IdxError(file, 'empty file');
  if (bytes.length < 4) throw new IdxError(file, `truncated header: ${bytes.length} bytes, need at least 4`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new IdxError(file, `bad magic: first two bytes are ${hex(bytes[0]!)} ${hex(bytes[1]!)}, an IDX file starts with 0x00 0x00`);
  }
  const type = bytes[2]!;
  const ndim = bytes[3]!;
  if (!(type in TYPE_NAMES)) throw new IdxError(file, `bad magic: unknown element type code ${hex(type)}`);
  if (type !== 0x08) throw new IdxError(file, `unsupported element type ${TYPE_NAMES[type]} (${hex(type)}); only unsigned byte IDX is supported`);
  if (ndim === 0) throw new IdxError(file, 'bad header: zero dimensions');
  const headerLen = 4 + 4 * ndim;
  if (bytes.length < headerLen) {
    throw new IdxError(file, `truncated header: ${ndim} dimensions need ${headerLen} header bytes, file has ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < ndim; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= d;
  }
  const have = bytes.length - headerLen;
  if (have < count) {
    throw new IdxError(file, `truncated data: dimensions [${dims.join(', ')}] need ${count} bytes, file has ${have}`);
  }
  if (have > count) {
    throw new IdxError(file, `${have - count} unexpected trailing bytes after the data for dimensions [${dims.join(', ')}]`);
  }
  return { dims, data: bytes.subarray(headerLen, headerLen + count) };
}

/** Read an IDX file; a missing or unreadable file is an IdxError naming it. */
export function readIdx(file: string): IdxArray {
  let raw: Uint8Array;
  try {
    raw = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new IdxError(file, code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? (e as Error).message})`);
  }
  return parseIdx(raw, file);
}

/** Serialise unsigned-byte data as IDX (used by tests and to write dataset subsets). */
export function encodeIdx(dims: number[], data: Uint8Array): Uint8Array {
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`encodeIdx: dims [${dims.join(', ')}] need ${count} bytes, got ${data.length}`);
  const out = new Uint8Array(4 + 4 * dims.length + count);
  const view = new DataView(out.buffer);
  out[2] = 0x08;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}
