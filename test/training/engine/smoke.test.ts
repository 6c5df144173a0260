// Smoke test: a small separable-dilated net trained for 150 steps on 2,400 MNIST training images
// reaches a held-out accuracy floor (80 %; chance is 10 %) on 600 other training images.
import t from 'tap';
import type { ArchConfig } from '../../../training/nn/arch.js';
import { Trainer } from '../../../training/runner/trainer.js';
import { mnistSlice } from './helpers/mnist-slice.js';

const arch: ArchConfig = {
  name: 'smoke', inputShape: [1, 28, 28], stem: { out: 16, k: 3 }, activation: 'relu', classes: 10, headDropout: 0,
  blocks: [
    { kind: 'separable', out: 32, k: 3, dilation: 1 },
    { kind: 'maxpool', k: 2 },
    { kind: 'separable', out: 32, k: 3, dilation: 2 },
    { kind: 'maxpool', k: 2 },
    { kind: 'separable', out: 32, k: 3, dilation: 3 },
  ],
};

t.test('150 AdamW steps on an MNIST slice reach >= 80 % held-out accuracy', async (t) => {
  const B = 32;
  const train = 2400;
  const held = 600;
  const data = mnistSlice(train + held);
  const tr = await Trainer.create({ arch, optimizer: { kind: 'adamw', weightDecay: 0.01 }, batchSize: B, seed: 3, intraOpThreads: 1 });
  const steps = 150;
  for (let s = 0; s < steps; s++) {
    const b = s % (train / B);
    const lr = 1e-2 * Math.min(1, (s + 1) / 10) * (1 - s / steps) + 1e-4; // warm-up, linear decay
    await tr.trainStep(data.x.subarray(b * B * 784, (b + 1) * B * 784), data.y.subarray(b * B, (b + 1) * B), lr);
  }
  const logits = await tr.predict(data.x.subarray(train * 784), held);
  let hits = 0;
  for (let i = 0; i < held; i++) {
    const row = logits.subarray(i * 10, i * 10 + 10);
    if (row.indexOf(Math.max(...row)) === data.y[train + i]) hits++;
  }
  t.ok(hits / held >= 0.8, `held-out accuracy ${(100 * hits / held).toFixed(1)} % after ${steps} steps`);
  await tr.dispose();
});
