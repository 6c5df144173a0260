import t from 'tap';
import { mkdtempSync, mkdirSync, writeFileSync, cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadFolderDataset, FolderDatasetError } from '../../../training/data/folder.js';
import { DatasetNotFoundError, loadMnist } from '../../../training/data/sources.js';
import { preprocessImage } from '../../../src/preprocess/index.js';

const fixtures = new URL('./fixtures/digits/', import.meta.url).pathname;

t.test('loads DIR/<digit>/*.png through the service preprocessing', async (t) => {
  const ds = await loadFolderDataset(fixtures);
  t.equal(ds.n, 6);
  t.same([...ds.labels], [0, 0, 3, 3, 7, 7]);
  t.same(ds.skippedBlank, []);
  for (let i = 0; i < ds.n; i++) {
    const want = await preprocessImage(readFileSync(ds.files[i]!), { mode: 'auto', maxPixels: 4_000_000 });
    t.same([...ds.pixels.subarray(i * 784, (i + 1) * 784)], [...want.pixels], `${ds.files[i]} equals preprocessImage output`);
  }
  // the fixtures are MNIST test digits drawn dark-on-light and enlarged: after preprocessing they
  // are light ink on black again and close to the original (same ink centre of mass, ink mostly
  // where the original had ink)
  const mnist = loadMnist('test');
  for (let i = 0; i < ds.n; i++) {
    const idx = Number(/mnist-test-(\d+)\.png$/.exec(ds.files[i]!)![1]);
    t.equal(mnist.labels[idx], ds.labels[i], 'label matches the source digit');
    let dot = 0, na = 0, nb = 0;
    for (let p = 0; p < 784; p++) {
      const a = ds.pixels[i * 784 + p]!, b = mnist.pixels[idx * 784 + p]!;
      dot += a * b; na += a * a; nb += b * b;
    }
    const cos = dot / Math.sqrt(na * nb);
    t.ok(cos > 0.8, `${ds.files[i]}: cosine similarity to the MNIST original ${cos.toFixed(3)}`);
  }
});

t.test('bad folders are clear errors', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'folder-ds-'));
  await t.rejects(loadFolderDataset(join(root, 'missing')), DatasetNotFoundError);
  await t.rejects(loadFolderDataset(join(root, 'missing')), { message: /create .*<digit>\/\*\.png/ });
  await t.rejects(loadFolderDataset(root), { name: 'FolderDatasetError', message: /no PNG files found/ });
  mkdirSync(join(root, 'seven'));
  await t.rejects(loadFolderDataset(root), { message: /sub-folder names must be single digits 0-9 \(the label\), found "seven"/ });
  const ok = mkdtempSync(join(tmpdir(), 'folder-ds-'));
  cpSync(join(fixtures, '3'), join(ok, '3'), { recursive: true });
  writeFileSync(join(ok, '3', 'broken.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]));
  const err = await loadFolderDataset(ok).then(() => null, (e: unknown) => e);
  t.ok(err instanceof FolderDatasetError, 'FolderDatasetError');
  t.match((err as Error).message, /3\/broken\.png: invalid_image/, 'names the file and the preprocessing error code');
  const f = join(ok, 'file');
  writeFileSync(f, 'x');
  await t.rejects(loadFolderDataset(f), { message: /is not a directory/ });
});
