// Renders the committed sample PNGs (for the README's curl example): the first MNIST test digit
// of each class, drawn the way users send digits — dark ink on white paper, big and off-centre,
// a transparent canvas, a 16-bit scan, a palette PNG. Deterministic (fixed seed); written
// atomically. Run: node --import tsx samples/make-samples.ts
import { renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderDigit, type Variant } from '../test/service/helpers/images.js';
import { loadMnistTest, mnistDigit } from '../test/service/helpers/mnist.js';
import { seededRandom } from '../test/service/helpers/tiny-model.js';

const outDir = fileURLToPath(new URL('./', import.meta.url));
const styles: Variant[] = ['big-offcentre', 'transparent', 'big-offcentre', 'grey16', 'palette'];
const rand = seededRandom(20240501);
const mnist = loadMnistTest();

const written: string[] = [];
for (let label = 0; label < 10; label++) {
  let index = 0;
  while (mnist.labels[index] !== label) index++;
  const style = styles[label % styles.length];
  const png = await renderDigit(mnistDigit(mnist, index), style, rand);
  const name = `digit-${label}.png`;
  const tmp = `${outDir}${name}.tmp`;
  writeFileSync(tmp, png);
  renameSync(tmp, `${outDir}${name}`);
  written.push(`${name}  (MNIST test #${index}, ${style}, ${png.length} bytes)`);
}
console.log(written.join('\n'));
