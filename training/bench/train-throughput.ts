// Training throughput of the engine: images/s of full train steps (forward, backward, AdamW
// update) at a fixed batch on issue #2's reference architecture, a run config's (--config NAME|YAML),
// or any ArchConfig (--arch-json FILE).
// Usage: npm run bench:train -- [--config default] [--batch 128] [--threads 2] [--steps 20] [--warmup 3] [--profile PREFIX]
import { cpus, loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_ARCH, type ArchConfig } from '../nn/arch.js';
import { Rng } from '../nn/rng.js';
import { forwardMacsPerImage } from '../runner/cost.js';
import { Trainer } from '../runner/trainer.js';
import { loadRunConfig, toArch } from '../model/config.js';

const { values } = parseArgs({
  options: {
    batch: { type: 'string', default: '128' },
    threads: { type: 'string', default: '2' },
    steps: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    'arch-json': { type: 'string' },
    config: { type: 'string' },
    profile: { type: 'string' },
  },
});
const int = (name: string, v: string | undefined) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${v}`);
  return n;
};
const batch = int('batch', values.batch);
const threads = int('threads', values.threads);
const steps = int('steps', values.steps);
const warmup = int('warmup', values.warmup);
if (values['arch-json'] && values.config) throw new Error('give --arch-json or --config, not both');
const arch: ArchConfig = values['arch-json'] ? JSON.parse(readFileSync(values['arch-json'], 'utf8')) as ArchConfig
  : values.config ? toArch(loadRunConfig(values.config)) : DEFAULT_ARCH;

const rng = new Rng(1);
const x = rng.fill(batch * 784, (r) => r.uniform());
const y = Int32Array.from({ length: batch }, () => Math.floor(rng.uniform() * arch.classes));

const load0 = loadavg()[0];
const t0 = performance.now();
const trainer = await Trainer.create({ arch, optimizer: { kind: 'adamw', weightDecay: 0.01 }, batchSize: batch, seed: 1, intraOpThreads: threads, profile: values.profile });
const buildMs = performance.now() - t0;
for (let i = 0; i < warmup; i++) await trainer.trainStep(x, y, 1e-3);
const times: number[] = [];
const cpu0 = process.cpuUsage();
for (let i = 0; i < steps; i++) {
  const s = performance.now();
  await trainer.trainStep(x, y, 1e-3);
  times.push(performance.now() - s);
}
const cpuUsed = process.cpuUsage(cpu0);
const cpuMsPerStep = (cpuUsed.user + cpuUsed.system) / 1000 / steps;
await trainer.dispose();

const sorted = [...times].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)];
const mean = times.reduce((a, b) => a + b) / times.length;
const macs = forwardMacsPerImage(arch);
const ips = (batch / median) * 1000;
// Training ≈ 3× the forward multiply-adds (forward, dX, dW); 2 FLOPs per multiply-add.
const gflops = (ips * macs * 3 * 2) / 1e9;
const params = Object.values(trainer.paramShapes).reduce((a, s) => a + s.reduce((p, q) => p * q, 1), 0);
const cpu = cpus();
console.log(`arch              ${arch.name} (${params} params)`);
console.log(`machine           ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}`);
console.log(`threads           ${threads} intra-op (onnxruntime-node CPU, graphOptimizationLevel=all)`);
console.log(`batch             ${batch}`);
console.log(`session build     ${buildMs.toFixed(0)} ms`);
console.log(`step time         median ${median.toFixed(1)} ms, mean ${mean.toFixed(1)} ms, min ${sorted[0].toFixed(1)} ms over ${steps} steps (${warmup} warm-up)`);
console.log(`MACs/image        ${(macs / 1e6).toFixed(2)} M forward (≈ ${((3 * macs) / 1e6).toFixed(1)} M per training image)`);
console.log(`achieved          ${gflops.toFixed(1)} GFLOP/s (6 FLOPs per forward MAC per image)`);
console.log(`load average      ${load0.toFixed(2)} at start, ${loadavg()[0].toFixed(2)} at end (other processes share the cores)`);
console.log(`CPU per step      ${cpuMsPerStep.toFixed(0)} ms (all threads; ${(cpuMsPerStep / threads).toFixed(0)} ms per thread)`);
console.log(`fastest step      ${((batch / sorted[0]) * 1000).toFixed(0)} training images/s (least disturbed by other processes)`);
console.log(`throughput        ${ips.toFixed(0)} training images/s (median step)`);
