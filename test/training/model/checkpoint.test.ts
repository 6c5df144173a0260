import t from 'tap';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { saveCheckpoint, loadCheckpoint, CheckpointError, writeFileAtomic } from '../../../training/pipeline/checkpoint.js';
import { lrAt } from '../../../training/pipeline/schedule.js';
import { Rng } from '../../../training/data/rng.js';

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
