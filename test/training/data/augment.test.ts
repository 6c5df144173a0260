import t from 'tap';
import { Augmenter, NO_AUGMENT, warpImage, type AugmentParams } from '../../../training/augment/affine.js';
import { Rng } from '../../../training/data/rng.js';
import { PIXELS, fullView, type ImageDataset } from '../../../training/data/dataset.js';
import { epochBatches, batchesPerEpoch } from '../../../training/data/batches.js';
import { DIGIT_CLASSES } from '../../../training/data/sources.js';

const seed = Math.floor(Math.random() * 2 ** 31);
t.comment(`random seed ${seed}`);
const rng = new Rng(seed);

function randomImages(n: number, r: Rng): Float32Array {
  const x = new Float32Array(n * PIXELS);
  for (let i = 0; i < x.length; i++) x[i] = r.next() < 0.3 ? r.next() : r.next() < 0.5 ? 1 : 0;
  return x;
}
const STRONG: AugmentParams = { rotateDeg: 40, scaleMin: 0.6, scaleMax: 1.5, shearDeg: 30, shiftPx: 6,
  elastic: { alpha: 20, sigma: 3, probability: 0.7 } };

t.test('identity transform is identity (bit-exact), with and without a zero-strength elastic step', async (t) => {
  const x = randomImages(16, rng);
  for (const p of [NO_AUGMENT, { ...NO_AUGMENT, elastic: { alpha: 0, sigma: 4, probability: 1 } },
    { ...NO_AUGMENT, elastic: { alpha: 30, sigma: 4, probability: 0 } }]) {
    const out = new Float32Array(x.length);
    new Augmenter(p).apply(x, 16, out, new Rng(rng.nextU32()));
    t.ok(Buffer.from(out.buffer).equals(Buffer.from(x.buffer)), `identity for ${JSON.stringify(p.elastic)}`);
  }
});

t.test('pixel range stays in [0,1] under strong random transforms', async (t) => {
  const x = randomImages(64, rng);
  const out = new Float32Array(x.length);
  new Augmenter(STRONG).apply(x, 64, out, new Rng(rng.nextU32()));
  let min = Infinity, max = -Infinity;
  for (const v of out) { min = Math.min(min, v); max = Math.max(max, v); }
  t.ok(min >= 0 && max <= 1, `range [${min}, ${max}]`);
  t.notOk(Buffer.from(out.buffer).equals(Buffer.from(x.buffer)), 'the images did change');
});

t.test('geometry: integer shift moves content exactly, 180° rotation flips both axes', async (t) => {
  const x = randomImages(1, rng);
  const shifted = new Float32Array(PIXELS);
  const dx = 1 + rng.int(4), dy = -rng.int(4);
  warpImage(x, 0, shifted, 0, { rotateDeg: 0, scale: 1, shearDeg: 0, shiftX: dx, shiftY: dy });
  let ok = true;
  for (let y = 0; y < 28; y++) for (let xx = 0; xx < 28; xx++) {
    const sx = xx - dx, sy = y - dy;
    const want = sx < 0 || sy < 0 || sx >= 28 || sy >= 28 ? 0 : x[sy * 28 + sx]!;
    if (shifted[y * 28 + xx] !== want) ok = false;
  }
  t.ok(ok, `shift (${dx}, ${dy}) is exact`);
  const rot = new Float32Array(PIXELS);
  warpImage(x, 0, rot, 0, { rotateDeg: 180, scale: 1, shearDeg: 0, shiftX: 0, shiftY: 0 });
  let maxErr = 0;
  for (let y = 0; y < 28; y++) for (let xx = 0; xx < 28; xx++) maxErr = Math.max(maxErr, Math.abs(rot[y * 28 + xx]! - x[(27 - y) * 28 + 27 - xx]!));
  t.ok(maxErr < 1e-5, `180° rotation error ${maxErr}`);
});

t.test('seeded: same seed same output, different seed different output', async (t) => {
  const x = randomImages(8, rng);
  const a = new Float32Array(x.length), b = new Float32Array(x.length), c = new Float32Array(x.length);
  const aug = new Augmenter(STRONG);
  const s = rng.nextU32();
  aug.apply(x, 8, a, new Rng(s));
  aug.apply(x, 8, b, new Rng(s));
  aug.apply(x, 8, c, new Rng(s + 1));
  t.ok(Buffer.from(a.buffer).equals(Buffer.from(b.buffer)));
  t.notOk(Buffer.from(a.buffer).equals(Buffer.from(c.buffer)));
});

t.test('augmented batches keep their labels and are reproducible per (seed, epoch, batch)', async (t) => {
  const n = 300;
  // labels are checked through the un-augmented stream of the same order (augmentation moves pixels)
  const ds: ImageDataset = { name: 'rand', source: 'test', n, pixels: randomImages(n, rng),
    labels: Uint8Array.from({ length: n }, () => rng.int(10)), classNames: DIGIT_CLASSES };
  const view = fullView(ds);
  const s = rng.nextU32();
  // batch buffers are reused by the generator: copy each as it comes
  const collect = (it: Iterable<{ index: number; x: Float32Array; y: Int32Array }>) => {
    const out: { index: number; x: Float32Array; y: Int32Array }[] = [];
    for (const b of it) out.push({ index: b.index, x: b.x.slice(), y: b.y.slice() });
    return out;
  };
  const plain = collect(epochBatches(view, 32, s, 3, null));
  const aug = new Augmenter(STRONG);
  const augd = collect(epochBatches(view, 32, s, 3, aug));
  t.equal(plain.length, batchesPerEpoch(view, 32));
  t.equal(plain.length, 9, 'partial last batch dropped');
  const seen = new Set<number>();
  for (let b = 0; b < plain.length; b++) {
    t.same([...augd[b]!.y], [...plain[b]!.y], `batch ${b} labels unchanged by augmentation`);
    for (let i = 0; i < 32; i++) {
      // find which dataset image this is, and check its label
      const img = plain[b]!.x.subarray(i * PIXELS, (i + 1) * PIXELS);
      let found = -1;
      for (let j = 0; j < n && found < 0; j++) if (ds.pixels[j * PIXELS] === img[0] && ds.pixels[j * PIXELS + 1] === img[1] && ds.pixels.subarray(j * PIXELS, (j + 1) * PIXELS).every((v, k) => v === img[k])) found = j;
      if (found < 0 || ds.labels[found] !== plain[b]!.y[i]) { t.fail(`batch ${b} item ${i} label mismatch`); return; }
      seen.add(found);
    }
  }
  t.equal(seen.size, 9 * 32, `no image repeats within an epoch (${seen.size})`);
  const resumed = collect(epochBatches(view, 32, s, 3, aug, 5));
  t.equal(resumed[0]!.index, 5);
  t.ok(Buffer.from(resumed[0]!.x.buffer).equals(Buffer.from(augd[5]!.x.buffer)), 'batch 5 regenerated exactly when resuming');
  const other = collect(epochBatches(view, 32, s, 4, null));
  t.notSame([...other[0]!.y, ...other[1]!.y], [...plain[0]!.y, ...plain[1]!.y], 'another epoch, another order');
});
