// The shipped models and what the docs say about them: each card matches the model it sits
// beside and the committed config it claims, and the README / docs/model.md rows quote the card
// (so a number about a shipped model cannot drift from the pipeline run that produced it).
import t from 'tap';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configSha, loadRunConfig, toArch } from '../../../training/model/config.js';
import { inspectOnnx } from '../../../training/pipeline/onnx-file.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const read = (p: string) => readFileSync(root + p, 'utf8');

interface Card {
  config: { name: string; sha: string; arch: unknown };
  metrics: { dataset: string; n: number; correct: number; accuracy: number };
  parameters: number;
  macsPerImage: number;
  pipelineSeconds: number;
  command: string;
  source: { commit: string; trainingCodeModified: boolean };
}

const SHIPPED = [
  { onnx: 'models/digits.onnx', card: 'models/digits.card.json', config: 'default' },
  { onnx: 'models/digits-tiny.onnx', card: 'models/digits-tiny.card.json', config: 'tiny' },
];

const int = (n: number) => n.toLocaleString('en-US');
const pct = (a: number) => `${(a * 100).toFixed(2)} %`;

/** The one table row of `doc` that starts with the model's file name. */
function rowOf(doc: string, file: string): string {
  const rows = doc.split('\n').filter((l) => l.startsWith(`| \`${file}\``));
  if (rows.length !== 1) throw new Error(`expected one row for ${file}, found ${rows.length}`);
  return rows[0]!;
}

for (const m of SHIPPED) {
  t.test(m.onnx, async (t) => {
    const card = JSON.parse(read(m.card)) as Card;
    const meta = inspectOnnx(new Uint8Array(readFileSync(root + m.onnx)), m.onnx).metadata;
    t.same(JSON.parse(meta.model_card!), card, 'the card inside the .onnx is the .card.json');

    const cfg = loadRunConfig(m.config);
    t.equal(card.config.sha, configSha(cfg), `trained with the committed ${m.config} config (same hash)`);
    t.same(card.config.arch, toArch(cfg), 'same architecture as the committed config');
    t.equal(card.source.trainingCodeModified, false, 'trained by committed code');
    t.equal(card.metrics.dataset, 'mnist/test');
    t.equal(card.metrics.n, 10000, 'scored on the whole MNIST test set');
    t.equal(card.metrics.correct / card.metrics.n, card.metrics.accuracy);

    const facts = [int(card.parameters), `**${pct(card.metrics.accuracy)}**`,
      `(${int(card.metrics.correct)} / ${int(card.metrics.n)})`, `${(card.pipelineSeconds / 60).toFixed(1)} min`, `\`${card.command}\``];
    const readme = rowOf(read('README.md'), m.onnx);
    for (const f of [...facts, `${(card.macsPerImage / 1e6).toFixed(2)} M`]) t.ok(readme.includes(f), `README row quotes ${f}`);
    const doc = rowOf(read('docs/model.md'), m.onnx);
    for (const f of [...facts, int(card.macsPerImage)]) t.ok(doc.includes(f), `docs/model.md row quotes ${f}`);
  });
}

t.test('the README\'s service performance section is bench/results/load.md, measured on the shipped model', async (t) => {
  const md = read('bench/results/load.md').trim();
  t.ok(read('README.md').includes(md), 'README quotes load.md verbatim');
  const sha = /\(sha256 ([0-9a-f]{12})…\)/.exec(md)?.[1];
  t.ok(sha, 'load.md names the model\'s sha256');
  t.equal(createHash('sha256').update(readFileSync(root + 'models/digits.onnx')).digest('hex').slice(0, 12), sha, 'and it is models/digits.onnx');
});
