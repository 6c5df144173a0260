// Checkpoint files: written atomically (temp file in the same directory, fsync, rename, fsync
// the directory) so that a SIGKILL at any moment leaves either the previous or the new complete
// checkpoint, never a torn one. Layout:
//   "DGTCKPT1" | u32 LE header length | header JSON (utf8) | zero pad to 4 | float32 LE tensors
// The header records each tensor's name, shape and offset, and the SHA-256 of the data section,
// which is verified on read.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync, mkdirSync, unlinkSync, statSync, type Stats } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';

const MAGIC = 'DGTCKPT1';

export interface Tensor {
  shape: number[];
  data: Float32Array;
}

export class CheckpointError extends Error {
  constructor(readonly file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'CheckpointError';
  }
}

interface Header<M> {
  meta: M;
  tensors: { name: string; shape: number[]; offset: number; length: number }[];
  dataBytes: number;
  sha256: string;
}

/**
 * Write bytes to `file` atomically: readers see the old file or the new one, never a mix. When
 * the write, the fsync or the rename fails, the temp file is removed and the error rethrown.
 */
export function writeFileAtomic(file: string, bytes: Uint8Array | string): void {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number | undefined = openSync(tmp, 'w');
  try {
    const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, file);
  } catch (e) {
    if (fd !== undefined) try { closeSync(fd); } catch { /* the first error is the one to report */ }
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw e;
  }
  // make the rename itself durable
  try {
    const dfd = openSync(dir, 'r');
    try { fsyncSync(dfd); } finally { closeSync(dfd); }
  } catch { /* some filesystems refuse fsync on directories; the rename is still atomic */ }
}

export function encodeCheckpoint<M>(meta: M, tensors: Record<string, Tensor>): Uint8Array {
  const names = Object.keys(tensors).sort();
  let offset = 0;
  const index = names.map((name) => {
    const t = tensors[name]!;
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`checkpoint: tensor ${name} has shape [${t.shape.join(', ')}] but ${t.data.length} values`);
    const entry = { name, shape: t.shape, offset, length: n };
    offset += n * 4;
    return entry;
  });
  const data = new Uint8Array(offset);
  const dv = new DataView(data.buffer);
  for (const e of index) {
    const src = tensors[e.name]!.data;
    for (let i = 0; i < e.length; i++) dv.setFloat32(e.offset + 4 * i, src[i]!, true);
  }
  const header: Header<M> = { meta, tensors: index, dataBytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
  const hjson = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (4 - ((MAGIC.length + 4 + hjson.length) % 4)) % 4;
  const out = new Uint8Array(MAGIC.length + 4 + hjson.length + pad + data.length);
  out.set(Buffer.from(MAGIC, 'ascii'), 0);
  new DataView(out.buffer).setUint32(MAGIC.length, hjson.length, true);
  out.set(hjson, MAGIC.length + 4);
  out.set(data, MAGIC.length + 4 + hjson.length + pad);
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * The structure of a parsed header, checked before anything is read through it: what is wrong
 * with it, or null. `dataBytes` is the size of the data section actually present.
 */
function headerProblem(h: unknown): string | null {
  if (!isObject(h)) return 'corrupt header (not a JSON object)';
  if (!isObject(h.meta)) return `corrupt header: meta is ${h.meta === undefined ? 'missing' : `${JSON.stringify(h.meta)?.slice(0, 40)}, not an object`}`;
  if (!Array.isArray(h.tensors)) return `corrupt header: tensors is ${h.tensors === undefined ? 'missing' : 'not a list'}`;
  if (!isCount(h.dataBytes)) return 'corrupt header: dataBytes is not a byte count';
  if (typeof h.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(h.sha256)) return 'corrupt header: sha256 is not a SHA-256 hex digest';
  const names = new Set<string>();
  for (const [i, e] of (h.tensors as unknown[]).entries()) {
    if (!isObject(e)) return `corrupt header: tensor entry ${i} is not an object`;
    const what = typeof e.name === 'string' ? `tensor ${JSON.stringify(e.name)}` : `tensor entry ${i}`;
    if (typeof e.name !== 'string' || e.name === '') return `corrupt header: ${what} has no name`;
    if (names.has(e.name)) return `corrupt header: ${what} is listed twice`;
    names.add(e.name);
    if (!Array.isArray(e.shape) || !e.shape.every(isCount)) return `corrupt header: ${what} has shape ${JSON.stringify(e.shape)}, not a list of non-negative integers`;
    const n = (e.shape as number[]).reduce((a, b) => a * b, 1);
    if (!isCount(e.length) || e.length !== n) return `corrupt header: ${what} has length ${JSON.stringify(e.length)}, its shape [${(e.shape as number[]).join(', ')}] holds ${n} values`;
    if (!isCount(e.offset) || e.offset % 4 !== 0) return `corrupt header: ${what} has offset ${JSON.stringify(e.offset)}, not a multiple of 4`;
    if (e.offset + 4 * e.length > h.dataBytes) return `corrupt header: ${what} (bytes ${e.offset}..${e.offset + 4 * e.length}) lies outside the ${h.dataBytes}-byte data section`;
  }
  return null;
}

/**
 * Decode checkpoint bytes. The header's structure is validated (tensor entries inside the data
 * section and consistent with their shapes, meta an object), then `checkMeta`, when given, says
 * what is wrong with the meta for the caller (null: nothing). Every problem is a CheckpointError.
 */
export function decodeCheckpoint<M>(bytes: Uint8Array, file: string, checkMeta?: (meta: unknown) => string | null): { meta: M; tensors: Record<string, Tensor> } {
  if (bytes.length < MAGIC.length + 4 || Buffer.from(bytes.subarray(0, MAGIC.length)).toString('ascii') !== MAGIC) {
    throw new CheckpointError(file, 'not a checkpoint (bad magic)');
  }
  const hlen = new DataView(bytes.buffer, bytes.byteOffset).getUint32(MAGIC.length, true);
  if (MAGIC.length + 4 + hlen > bytes.length) throw new CheckpointError(file, 'truncated header');
  let header: Header<M>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(MAGIC.length + 4, MAGIC.length + 4 + hlen)).toString('utf8')) as Header<M>;
  } catch {
    throw new CheckpointError(file, 'corrupt header');
  }
  const problem = headerProblem(header);
  if (problem) throw new CheckpointError(file, problem);
  const pad = (4 - ((MAGIC.length + 4 + hlen) % 4)) % 4;
  const start = MAGIC.length + 4 + hlen + pad;
  const data = bytes.subarray(start);
  if (data.length !== header.dataBytes) throw new CheckpointError(file, `data section is ${data.length} bytes, header says ${header.dataBytes} (truncated?)`);
  if (createHash('sha256').update(data).digest('hex') !== header.sha256) throw new CheckpointError(file, 'data checksum mismatch (corrupt file)');
  const metaProblem = checkMeta?.(header.meta);
  if (metaProblem) throw new CheckpointError(file, metaProblem);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const tensors: Record<string, Tensor> = {};
  for (const e of header.tensors) {
    const arr = new Float32Array(e.length);
    for (let i = 0; i < e.length; i++) arr[i] = dv.getFloat32(e.offset + 4 * i, true);
    tensors[e.name] = { shape: e.shape, data: arr };
  }
  return { meta: header.meta, tensors };
}

export function saveCheckpoint<M>(file: string, meta: M, tensors: Record<string, Tensor>): void {
  writeFileAtomic(file, encodeCheckpoint(meta, tensors));
}

/** Read and decode a checkpoint file (see decodeCheckpoint); a missing file or a directory is a CheckpointError. */
export function loadCheckpoint<M>(file: string, checkMeta?: (meta: unknown) => string | null): { meta: M; tensors: Record<string, Tensor> } {
  let st: Stats;
  try {
    st = statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new CheckpointError(file, 'no such checkpoint');
    throw e;
  }
  if (!st.isFile()) throw new CheckpointError(file, st.isDirectory() ? 'is a directory, not a checkpoint file' : 'is not a regular file');
  return decodeCheckpoint<M>(readFileSync(file), file, checkMeta);
}
