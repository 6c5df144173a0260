// Accuracy of the trained model on MNIST test digits re-rendered the ways users send them
// (inverted, transparent background, large off-centre canvas, 16-bit, palette), end to end
// through POST /predict: each must be within 0.5 points of the plain digits' accuracy.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from './helpers/app.js';
import { renderDigit, VARIANTS, type Variant } from './helpers/images.js';
import { loadMnistTest, mnistDigit } from './helpers/mnist.js';
import { imageParts, multipartBody } from './helpers/multipart.js';
import { seededRandom } from './helpers/tiny-model.js';

const MODEL = process.env.ACCURACY_MODEL_PATH ?? fileURLToPath(new URL('../../models/digits.onnx', import.meta.url));
const COUNT = 1000;
const PER_REQUEST = 16;

if (!existsSync(MODEL)) {
  t.test('accuracy on user-style renderings of MNIST test digits', { skip: 'models/digits.onnx not yet built' }, async () => {});
  t.test('the committed samples (README curl example) are read as their digits', { skip: 'models/digits.onnx not yet built' }, async () => {});
} else {
  t.test('the committed samples (README curl example) are read as their digits', async (t) => {
    const app = await build(t, { MODEL_PATH: MODEL, MAX_FILES: 10 });
    const files = Array.from({ length: 10 }, (_, d) => readFileSync(new URL(`../../samples/digit-${d}.png`, import.meta.url)));
    const { body, contentType } = multipartBody(imageParts(files));
    const res = await app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': contentType }, payload: body });
    t.equal(res.statusCode, 200);
    const digits = res.json<{ predictions: Array<{ digit: number }> }>().predictions.map((p) => p.digit);
    t.same(digits, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'samples/digit-N.png is read as N');
  });

  t.test('accuracy on user-style renderings of MNIST test digits', async (t) => {
    const seed = Date.now() >>> 0;
    const rand = seededRandom(seed);
    const mnist = loadMnistTest();
    // a fresh random sample of the test set each run
    const picked = new Set<number>();
    while (picked.size < COUNT) picked.add(Math.floor(rand() * mnist.count));
    const indices = [...picked];
    const app = await build(t, { MODEL_PATH: MODEL, MAX_FILES: PER_REQUEST, BATCH_MAX_SIZE: 32, ORT_INTRA_OP_THREADS: 1 });

    async function accuracy(variant: Variant, mode: 'auto' | 'none' = 'auto'): Promise<number> {
      let correct = 0;
      for (let start = 0; start < indices.length; start += PER_REQUEST) {
        const chunk = indices.slice(start, start + PER_REQUEST);
        const pngs = await Promise.all(chunk.map((i) => renderDigit(mnistDigit(mnist, i), variant, rand)));
        const { body, contentType } = multipartBody(imageParts(pngs));
        const res = await app.inject({ method: 'POST', url: `/predict?preprocess=${mode}&topk=1`, headers: { 'content-type': contentType }, payload: body });
        if (res.statusCode !== 200) throw new Error(`${variant}: HTTP ${res.statusCode} ${res.body.slice(0, 200)}`);
        const preds = res.json<{ predictions: Array<{ digit: number }> }>().predictions;
        chunk.forEach((i, k) => { if (preds[k].digit === mnist.labels[i]) correct++; });
      }
      return (100 * correct) / indices.length;
    }

    const raw = await accuracy('plain', 'none');
    const plain = await accuracy('plain');
    t.comment(`seed ${seed}, ${COUNT} digits: preprocess=none ${raw.toFixed(1)}%, plain (auto) ${plain.toFixed(1)}%`);
    t.ok(plain > 90, `the model reads plain digits (${plain.toFixed(1)}%)`);
    for (const v of VARIANTS.filter((x) => x !== 'plain')) {
      const acc = await accuracy(v);
      t.comment(`${v}: ${acc.toFixed(1)}%`);
      t.ok(Math.abs(acc - plain) <= 0.5, `${v} ${acc.toFixed(1)}% is within 0.5 points of plain ${plain.toFixed(1)}% (seed ${seed})`);
    }
  });
}
