import t from 'tap';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { saveCheckpoint, loadCheckpoint, CheckpointError, writeFileAtomic } from '../../../training/pipeline/checkpoint.js';
import { lrAt } from '../../../training/pipeline/schedule.js';
import { Rng } from '../../../training/data/rng.js';
import { loadRunConfig } from '../../../training/model/config.js';
import { trainPhase } from '../../../training/pipeline/train-loop.js';
import { checkpointMetaProblem, lastCheckpoint, loadRunCheckpoint } from '../../../training/pipeline/run-state.js';
import { reencodeHeader } from './helpers/files.js';

const seed = Math.floor(Math.random() * 2 ** 31);
t.comment(`random seed ${seed}`);
const rng = new Rng(seed);
const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));

function randomTensors() {
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  const n = 1 + rng.int(6);
  for (let i = 0; i < n; i++) {
    const shape = Array.from({ length: 1 + rng.int(3) }, () => 1 + rng.int(5));
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let j = 0; j < data.length; j++) data[j] = (rng.next() - 0.5) * 10 ** (rng.int(8) - 4);
    out[`layer${i}.w`] = { shape, data };
  }
  return out;
}

t.test('round trip is exact', async (t) => {
  for (let k = 0; k < 5; k++) {
    const tensors = randomTensors();
    const meta = { epoch: rng.int(10), note: 'ünïcode ✓', nested: { a: [1, 2] } };
    const f = join(dir, `rt${k}.ckpt`);
    saveCheckpoint(f, meta, tensors);
    const back = loadCheckpoint<typeof meta>(f);
    t.same(back.meta, meta);
    t.same(Object.keys(back.tensors).sort(), Object.keys(tensors).sort());
    for (const [name, v] of Object.entries(tensors)) {
      t.same(back.tensors[name]!.shape, v.shape);
      t.ok(Buffer.from(back.tensors[name]!.data.buffer).equals(Buffer.from(v.data.buffer)), `${name} bit-exact`);
    }
  }
  t.same(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temp files left');
});

t.test('torn, corrupt or foreign files are CheckpointErrors naming the file', async (t) => {
  const f = join(dir, 'good.ckpt');
  saveCheckpoint(f, { ok: true }, randomTensors());
  const bytes = readFileSync(f);
  const cases: [string, Uint8Array, RegExp][] = [
    ['truncated', bytes.subarray(0, bytes.length - 1 - rng.int(8)), /data section is \d+ bytes, header says \d+ \(truncated\?\)|checksum/],
    ['header-cut', bytes.subarray(0, 20), /truncated header/],
    ['foreign', Buffer.from('PK\x03\x04 not a checkpoint'), /bad magic/],
    ['empty', new Uint8Array(0), /bad magic/],
  ];
  const flipped = Buffer.from(bytes);
  flipped[flipped.length - 1 - rng.int(16)] ^= 0x40;
  cases.push(['bit-flip', flipped, /checksum mismatch/]);
  for (const [name, b, re] of cases) {
    const p = join(dir, `${name}.ckpt`);
    writeFileSync(p, b);
    t.throws(() => loadCheckpoint(p), CheckpointError, name);
    t.throws(() => loadCheckpoint(p), { message: new RegExp(`${name}\\.ckpt: .*(${re.source})`) }, name);
  }
  t.throws(() => loadCheckpoint(join(dir, 'nope.ckpt')), { message: /nope\.ckpt: no such checkpoint/ });
});

t.test('an atomic write that fails leaves the previous file untouched', async (t) => {
  const f = join(dir, 'atomic.txt');
  writeFileAtomic(f, 'first');
  // writing a non-buffer fails inside the write: the old content must survive, no temp file left
  t.throws(() => writeFileAtomic(f, { length: 5 } as unknown as Uint8Array));
  t.equal(readFileSync(f, 'utf8'), 'first');
  t.same(readdirSync(dir).filter((x) => x.includes('atomic') && x.endsWith('.tmp')), []);
  writeFileAtomic(f, 'second');
  t.equal(readFileSync(f, 'utf8'), 'second');
});

t.test('an atomic write whose rename fails removes its temp file and leaves the target alone', async (t) => {
  const sub = mkdtempSync(join(tmpdir(), 'ckpt-rename-'));
  const target = join(sub, 'model.onnx');
  mkdirSync(target); // a directory where the file should go: rename(2) fails with EISDIR
  writeFileSync(join(target, 'keep'), 'x');
  t.throws(() => writeFileAtomic(target, 'bytes'), { code: 'EISDIR', syscall: 'rename', dest: target });
  t.same(readdirSync(sub), ['model.onnx'], 'no temp file left next to it');
  t.ok(statSync(target).isDirectory() && readFileSync(join(target, 'keep'), 'utf8') === 'x', 'the directory is untouched');
  t.throws(() => loadCheckpoint(target), { message: `${target}: is a directory, not a checkpoint file` });
  t.throws(() => loadCheckpoint(join(sub, 'model.onnx', 'keep', 'x.ckpt')), { message: /keep\/x\.ckpt: no such checkpoint/ });
});

t.test('a corrupt header of a real checkpoint is a CheckpointError naming the file and the problem', async (t) => {
  const smoke = loadRunConfig(new URL('./fixtures/smoke.yaml', import.meta.url).pathname);
  const root = mkdtempSync(join(tmpdir(), 'ckpt-real-'));
  const r = await trainPhase({ run: 'real', phase: 'pretrain', config: smoke, data: 'mnist', seed: 1, subset: 64, valSize: 64, epochs: 1, threads: 1,
    checkpointRoot: root, progress: false, log: () => {} });
  await r.trainer.dispose();
  const good = readFileSync(lastCheckpoint('real', root));
  t.ok(loadRunCheckpoint(lastCheckpoint('real', root)).meta.complete, 'the real checkpoint reads');
  type H = Record<string, any>;
  const at = (h: H, name: string) => h.tensors.find((e: H) => e.name === name);
  const cases: [string, (h: H) => unknown, RegExp][] = [
    ['huge-length', (h) => { h.tensors[0].length = 1e12; }, /tensor "[^"]+" has length 1000000000000, its shape \[[\d, ]+\] holds \d+ values/],
    ['huge-offset', (h) => { h.tensors[0].offset = 2 ** 40; }, /tensor "[^"]+" \(bytes 1099511627776\.\.\d+\) lies outside the \d+-byte data section/],
    ['huge-shape', (h) => { h.tensors[0].shape = [1e6]; h.tensors[0].length = 1e6; }, /lies outside the \d+-byte data section/],
    ['negative-offset', (h) => { h.tensors[1].offset = -4; }, /has offset -4, not a multiple of 4/],
    ['odd-offset', (h) => { h.tensors[1].offset = 2; }, /has offset 2, not a multiple of 4/],
    ['float-shape', (h) => { at(h, 'stem.conv.weight').shape = [16, 1, 3, 2.5]; }, /tensor "stem\.conv\.weight" has shape \[16,1,3,2\.5\], not a list of non-negative integers/],
    ['string-length', (h) => { h.tensors[0].length = '9'; }, /has length "9"/],
    ['no-name', (h) => { delete h.tensors[2].name; }, /tensor entry 2 has no name/],
    ['twice', (h) => { h.tensors[3].name = h.tensors[4].name; }, /is listed twice/],
    ['entry-null', (h) => { h.tensors[0] = null; }, /tensor entry 0 is not an object/],
    ['meta-null', (h) => { h.meta = null; }, /corrupt header: meta is null, not an object/],
    ['meta-missing', (h) => { delete h.meta; }, /corrupt header: meta is missing/],
    ['no-tensors', (h) => { delete h.tensors; }, /corrupt header: tensors is missing/],
    ['tensors-object', (h) => { h.tensors = {}; }, /corrupt header: tensors is not a list/],
    ['no-data-bytes', (h) => { delete h.dataBytes; }, /dataBytes is not a byte count/],
    ['bad-sha', (h) => { h.sha256 = 42; }, /sha256 is not a SHA-256 hex digest/],
    ['array', () => [1, 2], /corrupt header \(not a JSON object\)/],
  ];
  for (const [name, mutate, re] of cases) {
    const f = join(dir, `hdr-${name}.ckpt`);
    writeFileSync(f, reencodeHeader(good, mutate as (h: H) => unknown));
    for (const load of [() => loadCheckpoint(f), () => loadRunCheckpoint(f)]) {
      t.throws(load, CheckpointError, `${name}: CheckpointError`);
      t.throws(load, { message: new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*${re.source}`) }, `${name}: names the file and the problem`);
    }
  }
  // meta problems: the generic reader takes any object, the pipeline's needs its own fields
  const metaCases: [string, (m: H) => unknown, RegExp][] = [
    ['meta-empty', () => ({}), /not an onnx-digits training checkpoint \(meta\.format is missing\)/],
    ['meta-foreign', (m) => { m.format = 'other'; }, /meta\.format is "other"/],
    ['meta-v2', (m) => { m.version = 2; }, /checkpoint version 2 is not supported \(this code reads version 1\)/],
    ['meta-no-config', (m) => { delete m.config; }, /corrupt checkpoint meta: meta\.config: /],
    ['meta-bad-arch', (m) => { m.arch.blocks = 'many'; }, /corrupt checkpoint meta: meta\.arch\.blocks: /],
    ['meta-bad-epoch', (m) => { m.epoch = 'one'; m.history = null; }, /corrupt checkpoint meta: meta\.epoch: .*; meta\.history: /],
    ['meta-epoch-past-end', (m) => { m.epoch = m.epochs + 1; }, /meta\.epoch 2 exceeds meta\.epochs 1/],
    ['meta-many', (m) => ({ format: m.format, version: 1 }), /; and \d+ more$/],
  ];
  for (const [name, mutate, re] of metaCases) {
    const f = join(dir, `${name}.ckpt`);
    writeFileSync(f, reencodeHeader(good, (h) => { const m = mutate(h.meta); if (m !== undefined) h.meta = m; }));
    t.doesNotThrow(() => loadCheckpoint(f), `${name}: the generic reader accepts an object meta`);
    t.throws(() => loadRunCheckpoint(f), CheckpointError, `${name}: CheckpointError`);
    t.throws(() => loadRunCheckpoint(f), { message: new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*${re.source}`) }, `${name}: ${re.source}`);
  }
  t.equal(checkpointMetaProblem(loadCheckpoint(lastCheckpoint('real', root)).meta), null);
});

t.test('one-cycle schedule: warm-up from max/25 to max, cosine down to the final fraction', async (t) => {
  const total = 100 + rng.int(1000);
  const max = 0.001 + rng.next() * 0.01;
  const s = { kind: 'one-cycle' as const, warmupFraction: 0.15, finalLrFraction: 0.01 };
  const lr = Array.from({ length: total }, (_, i) => lrAt(i, total, max, s));
  const warm = Math.floor(0.15 * total);
  t.ok(Math.abs(lr[0]! - (max / 25 + (max - max / 25) / warm)) < 1e-12, 'first step just above max/25');
  t.ok(Math.abs(lr[warm - 1]! - max) < 1e-12, 'peak at the end of warm-up');
  t.ok(Math.abs(lr[total - 1]! - max * 0.01) < 1e-12, 'ends at the final fraction');
  t.ok(lr.slice(0, warm).every((v, i, a) => i === 0 || v > a[i - 1]!), 'warm-up increases');
  t.ok(lr.slice(warm).every((v, i, a) => i === 0 || v <= a[i - 1]!), 'then decreases');
  t.equal(lrAt(5, total, max, { ...s, kind: 'constant' }), max);
  const cos = { kind: 'cosine' as const, warmupFraction: 0, finalLrFraction: 0 };
  t.equal(lrAt(0, total, max, cos), max);
  t.ok(Math.abs(lrAt(total - 1, total, max, cos)) < 1e-15);
});
