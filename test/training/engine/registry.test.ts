// Loud gaps: unknown ops fail where the graph is built, ops without a gradient fail when their
// gradient is asked for (naming op and node), and every op the model configs emit has a rule.
import t from 'tap';
import { gradients } from '../../../training/autodiff/grad.js';
import { differentiableOps, newGraph, opDef } from '../../../training/autodiff/registry.js';
import { DEFAULT_ARCH, type ArchConfig } from '../../../training/nn/arch.js';
import { buildTrainGraph } from '../../../training/runner/graphs.js';
import { listConfigs, loadRunConfig, toArch } from '../../../training/model/config.js';
import { EVERY_BLOCK_ARCH } from './helpers/archs.js';

t.test('an unregistered op is an error at build time naming the op and node', async (t) => {
  const g = newGraph();
  const x = g.input('x', 'float32', [2, 2]);
  t.throws(() => g.op1('Hardmax', [x]), /node Hardmax_\d+: op Hardmax has no schema/);
});

t.test('a registered op without a gradient rule throws naming op and node', async (t) => {
  const g = newGraph();
  const x = g.input('x', 'float32', [2, 3]);
  const m = g.op1('ReduceSum', [g.op1('Max', [x, g.scalar(0.5)])], { keepdims: 0 });
  t.throws(() => gradients(g, m, [x]), /no gradient rule for op Max \(node Max_\d+\)/);
});

t.test('builder validates shapes and dtypes where the node is made', async (t) => {
  const g = newGraph();
  const a = g.input('a', 'float32', [2, 3]);
  const b = g.input('b', 'float32', [4, 5]);
  t.throws(() => g.op1('MatMul', [a, b]), /node MatMul_\d+ \(MatMul\).*inner dims differ/);
  t.throws(() => g.op1('Add', [a, g.input('i', 'int64', [2, 3])]), /dtype mismatch/);
  t.throws(() => g.input('a', 'float32', [1]), /already used/);
  t.throws(() => g.op1('Conv', [g.input('x', 'float32', [1, 3, 5, 5]), g.input('w', 'float32', [4, 2, 3, 3])]), /does not fit C=3/);
});

const everyBlock: ArchConfig = { ...EVERY_BLOCK_ARCH, blocks: [...EVERY_BLOCK_ARCH.blocks, { kind: 'maxpool' }] };

const archs: ArchConfig[] = [DEFAULT_ARCH, everyBlock, { ...everyBlock, name: 'silu', activation: 'silu' }];
for (const name of listConfigs()) archs.push(toArch(loadRunConfig(name)));
for (const arch of archs) {
  for (const kind of ['adamw', 'sgd'] as const) {
    t.test(`train graph of ${arch.name} (${kind}) uses only ops with gradient rules`, async (t) => {
      const tg = buildTrainGraph({ arch, optimizer: { kind, weightDecay: 1e-4, clipGlobalNorm: 1 }, batchSize: 2, labelSmoothing: 0.1, frozen: () => false, bnMomentum: 0.1, bnEps: 1e-5 });
      const ops = new Set(tg.graph.nodes.map((n) => n.op));
      for (const op of ops) t.ok(opDef(op), `${op} is registered`);
      t.ok(tg.params.length > 0 && tg.carried.length >= tg.params.length);
    });
  }
}

t.test('every op with a gradient rule has a gradient-check test in rules-*.test.ts', async (t) => {
  const { readFileSync, readdirSync } = await import('node:fs');
  const dir = new URL('.', import.meta.url);
  const text = readdirSync(dir).filter((f) => f.startsWith('rules-')).map((f) => readFileSync(new URL(f, dir), 'utf8')).join('\n');
  const withRule = differentiableOps().filter((op) => typeof opDef(op)?.grad === 'function');
  t.ok(withRule.length >= 30, `${withRule.length} ops with rules`);
  for (const op of withRule) t.match(text, new RegExp(`'${op}'`), `${op} is exercised by a gradient check`);
});
