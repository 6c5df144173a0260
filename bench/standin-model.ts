// Writes an UNTRAINED model with a training config's architecture (random weights, BN folded,
// same graph and compute as the shipped model), so the load harness can measure serving cost
// before training has finished:
//   node --import tsx bench/standin-model.ts [config=default] [out.onnx=$TMPDIR/onnx-digits-standin-<config>.onnx]
//   npm run bench:load -- --model $TMPDIR/onnx-digits-standin-default.onnx
// Its predictions are meaningless.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { loadRunConfig, toArch } from '../training/model/config.js';
import { Trainer } from '../training/runner/trainer.js';

const [configName = 'default', outArg] = process.argv.slice(2);
const out = resolve(outArg ?? join(tmpdir(), `onnx-digits-standin-${configName}.onnx`));
const config = loadRunConfig(configName);
const trainer = await Trainer.create({
  arch: toArch(config),
  optimizer: { kind: 'adamw', weightDecay: 0 },
  batchSize: 8,
  seed: 1,
  intraOpThreads: 1,
});
try {
  const bytes = trainer.buildEvalModel({
    metadata: { name: `standin-untrained-${config.name}`, version: '0.0.0-untrained', description: 'random weights; for load benchmarks only' },
  });
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.tmp`, bytes);
  renameSync(`${out}.tmp`, out);
  process.stdout.write(`wrote ${out} (${bytes.length} bytes, architecture of config "${config.name}")\n`);
} finally {
  await trainer.dispose();
}
