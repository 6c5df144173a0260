import t from 'tap';
import { summarize, dilationWarnings, standardTwin, formatSummary } from '../../../training/model/summary.js';
import { loadRunConfig, parseRunConfig, phaseAugment, toArch, ConfigError, listConfigs } from '../../../training/model/config.js';
import type { ArchConfig } from '../../../training/nn/arch.js';

const small: ArchConfig = {
  name: 'small', inputShape: [1, 28, 28], stem: { out: 8, k: 3 },
  blocks: [
    { kind: 'separable', out: 16, k: 3, dilation: 2 },
    { kind: 'maxpool', k: 2 },
    { kind: 'conv', out: 8, k: 5, dilation: 1 },
    { kind: 'separable', out: 12, k: 3, dilation: 1, stride: 2 },
  ],
  headDropout: 0.5, activation: 'relu', classes: 10,
};

t.test('hand-computed shapes, receptive fields, params and MACs', async (t) => {
  const s = summarize(small);
  const by = Object.fromEntries(s.rows.map((r) => [r.name, r]));
  t.same(by['stem'], { name: 'stem', what: 'conv 3×3 1→8', out: [8, 28, 28], rf: 3, params: 9 * 8 + 16, macs: 784 * 72, stdParams: 88, stdMacs: 784 * 72 });
  // depthwise 3×3 on 8 channels + pointwise 8→16 + BN(16); receptive field grows by d·(k−1) = 4
  t.same(by['blocks.0'], { name: 'blocks.0', what: 'sep 3×3 d2 8→16', out: [16, 28, 28], rf: 7, params: 72 + 128 + 32, macs: 784 * (72 + 128), stdParams: 9 * 8 * 16 + 32, stdMacs: 784 * 9 * 8 * 16 });
  t.same(by['blocks.1']!.out, [16, 14, 14]);
  t.equal(by['blocks.1']!.rf, 8);
  // 5×5 conv after one pool: RF grows by (5−1)·2
  t.same(by['blocks.2'], { name: 'blocks.2', what: 'conv 5×5 d1 16→8', out: [8, 14, 14], rf: 16, params: 25 * 16 * 8 + 16, macs: 196 * 25 * 16 * 8, stdParams: 3216, stdMacs: 196 * 3200 });
  // stride-2 separable: 14 → 7, RF grows by 2·2
  t.same(by['blocks.3'], { name: 'blocks.3', what: 'sep 3×3 d1 s2 8→12', out: [12, 7, 7], rf: 20, params: 72 + 96 + 24, macs: 49 * (72 + 96), stdParams: 9 * 8 * 12 + 24, stdMacs: 49 * 9 * 8 * 12 });
  t.same(by['head.fc'], { name: 'head.fc', what: 'linear 12→10', out: [10, 1, 1], rf: 20, params: 130, macs: 120, stdParams: 130, stdMacs: 120 });
  t.ok(by['head.dropout'], 'head dropout listed');
  t.equal(s.totals.params, 88 + 232 + 3216 + 192 + 130);
  const text = formatSummary(s);
  t.match(text, /total\s+3,858/);
  t.match(text, /separable \/ standard: params 0\.\d+ \(\d+\.\d× fewer\), MACs/);
});

t.test('standard twin replaces separable blocks only, and its params equal the std column', async (t) => {
  for (const name of listConfigs()) {
    const arch = toArch(loadRunConfig(name));
    const twin = standardTwin(arch);
    t.ok(twin.blocks.every((b) => b.kind !== 'separable'), `${name}: no separable blocks in the twin`);
    const s = summarize(arch), st = summarize(twin);
    t.equal(st.totals.params, s.totals.stdParams, `${name}: params`);
    t.equal(st.totals.macs, s.totals.stdMacs, `${name}: MACs`);
    t.same(st.rows.map((r) => r.out), s.rows.map((r) => r.out), `${name}: same shapes`);
    t.same(st.rows.map((r) => r.rf), s.rows.map((r) => r.rf), `${name}: same receptive fields`);
  }
});

t.test('dilation schedules: common factors flagged, named configs clean and within budget', async (t) => {
  const sep = (d: number) => ({ kind: 'separable' as const, out: 8, k: 3, dilation: d });
  const base = { ...small, blocks: [] };
  t.same(dilationWarnings({ ...base, blocks: [sep(1), sep(2), sep(3)] }), []);
  t.match(dilationWarnings({ ...base, blocks: [sep(2), sep(4)] })[0], /dilations 2, 4 share the factor 2/);
  t.same(dilationWarnings({ ...base, blocks: [sep(2), { kind: 'maxpool' }, sep(2)] }), [], 'a pool starts a new run');
  t.match(dilationWarnings({ ...base, blocks: [sep(3), sep(6), sep(3)] })[0], /factor 3/);
  const budget: Record<string, number> = { default: 50_000, tiny: 10_000 };
  t.same(listConfigs(), ['default', 'tiny']);
  for (const name of listConfigs()) {
    const s = summarize(toArch(loadRunConfig(name)));
    t.same(s.dilationWarnings, [], `${name}: no gridding`);
    t.ok(s.totals.params <= budget[name]!, `${name}: ${s.totals.params} params <= ${budget[name]}`);
    t.equal(s.rows.at(-1)!.out[0], 10);
  }
});

t.test('config errors name the source and the field', async (t) => {
  const good = (await import('node:fs')).readFileSync(new URL('../../../training/model/configs/tiny.yaml', import.meta.url), 'utf8');
  t.throws(() => parseRunConfig(good.replace('headDropout: 0.1', 'headDropout: 2'), 'x.yaml'), { name: 'ConfigError', message: /x\.yaml: arch\.headDropout/ });
  t.throws(() => parseRunConfig(good.replace('kind: separable, out: 32', 'kind: separabel, out: 32'), 'x.yaml'), { message: /x\.yaml: arch\.blocks\.0/ });
  t.throws(() => parseRunConfig(good.replace('maxParams: 10000', 'maxParams: 5000'), 'x.yaml'), { message: /9930 parameters exceed limits\.maxParams 5000/ });
  t.throws(() => parseRunConfig(good.replace('k: 3, dilation: 2', 'k: 4, dilation: 2'), 'x.yaml'), { message: /kernel size 4 must be odd/ });
  t.throws(() => parseRunConfig('name: [', 'x.yaml'), { message: /not valid YAML/ });
  t.throws(() => parseRunConfig(good.replace('headDropout: 0.1', 'headDropout: [0.1'), 'x.yaml'), { message: /^x\.yaml: not valid YAML: [^\n]+$/ }, 'one line: no code frame');
  t.throws(() => loadRunConfig('nope'), ConfigError);
  t.throws(() => loadRunConfig('nope'), { message: /named configs: default, tiny/ });
  const ft = 'finetune: { data: mnist, epochs: 10, maxLr: 0.006 }';
  t.ok(good.includes(ft), 'fixture line present');
  t.throws(() => parseRunConfig(good.replace(ft, 'finetune: { data: mnist, epochs: 10, maxLr: 0.006, augment: { rotateDegs: 3 } }'), 'x.yaml'), { message: /x\.yaml: train\.finetune\.augment/ });
  t.throws(() => parseRunConfig(good.replace(ft, 'finetune: { data: mnist, epochs: 10, maxLr: 0.006, augment: { scaleMin: 1.2 } }'), 'x.yaml'), { message: /scaleMax < scaleMin \(with train\.finetune\.augment\)/ });
});

t.test('a phase\'s augment overrides train.augment for that phase only', async (t) => {
  const good = (await import('node:fs')).readFileSync(new URL('../../../training/model/configs/tiny.yaml', import.meta.url), 'utf8');
  const elastic = { alpha: 20, sigma: 4, probability: 0.25 };
  const c = parseRunConfig(good.replace('finetune: { data: mnist, epochs: 10, maxLr: 0.006 }',
    `finetune: { data: mnist, epochs: 10, maxLr: 0.006, augment: { rotateDeg: 5, elastic: ${JSON.stringify(elastic)} } }`), 'x.yaml');
  t.same(phaseAugment(c, 'pretrain'), c.train.augment, 'pre-training: the shared augmentation');
  t.same(phaseAugment(c, 'finetune'), { ...c.train.augment, rotateDeg: 5, elastic }, 'fine-tuning: overrides on top');
  t.equal(c.train.augment.elastic, undefined, 'the shared block is untouched');
});
