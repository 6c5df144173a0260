// Builds the three graphs of one model definition:
//   train step: (input, labels, lr, step, params, optimizer state, BN running stats, dropout masks)
//               -> (loss, correct, <name>.next for every param/state/stat)
//   eval:       (input [N,...], params, BN running stats as inputs) -> logits        (for predict)
//   export:     (input [N,...]) -> logits, probabilities, params baked in as initializers
import { gradients } from '../autodiff/grad.js';
import { countCorrect, oneHotTargets, softmaxCrossEntropy } from '../autodiff/ops/loss.js';
import { newGraph } from '../autodiff/registry.js';
import type { Graph } from '../onnx/graph.js';
import type { Value } from '../onnx/types.js';
import { buildOptimizer, type OptimizerConfig } from '../optim/optimizer.js';
import type { ArchConfig } from '../nn/arch.js';
import type { Mode, NetContext, ParamSpec } from '../nn/layers.js';
import { buildNetwork } from '../nn/network.js';

export interface BufferSpec { name: string; shape: number[]; init: number }
export interface MaskSpec { name: string; shape: number[]; p: number }

export interface NetOptions { bnMomentum: number; bnEps: number }

interface Collected { params: ParamSpec[]; buffers: BufferSpec[]; masks: MaskSpec[]; bufferNext: Map<string, Value> }

function context(g: Graph, mode: Mode, o: NetOptions, c: Collected, extra: { data?: (n: string) => Float32Array; fold?: boolean; frozenStats?: (bn: string) => boolean } = {}): NetContext {
  const asValue = (name: string, shape: number[]) => {
    if (mode !== 'export') return g.input(name, 'float32', shape);
    if (!extra.data) throw new Error('export needs parameter data');
    const d = extra.data(name);
    return g.initializer(name, shape, d);
  };
  return {
    g, mode, bnMomentum: o.bnMomentum, bnEps: o.bnEps, foldBatchNorm: extra.fold ?? false,
    param: (spec) => { c.params.push(spec); return asValue(spec.name, spec.shape); },
    buffer: (name, shape, init) => { c.buffers.push({ name, shape, init }); return asValue(name, shape); },
    updateBuffer: (name, next) => { c.bufferNext.set(name, next); },
    data: (name) => { if (!extra.data) throw new Error('no parameter data in this mode'); return extra.data(name); },
    frozenStats: extra.frozenStats,
    dropoutMask: (name, shape, p) => { c.masks.push({ name: `${name}.mask`, shape, p }); return g.input(`${name}.mask`, 'float32', shape); },
  };
}

const emptyCollected = (): Collected => ({ params: [], buffers: [], masks: [], bufferNext: new Map() });

export interface TrainGraphOptions extends NetOptions {
  arch: ArchConfig;
  optimizer: OptimizerConfig;
  batchSize: number;
  labelSmoothing: number;
  frozen: (name: string) => boolean;
  /** BN layers whose weight and bias are both frozen use (and keep) their running statistics. */
  freezeBatchNormStats?: boolean;
}

export interface TrainGraph {
  graph: Graph;
  params: ParamSpec[];
  buffers: BufferSpec[];
  masks: MaskSpec[];
  optState: Map<string, number[]>;
  /** Names fed each step whose `<name>.next` output replaces them. */
  carried: string[];
}

export function buildTrainGraph(o: TrainGraphOptions): TrainGraph {
  const g = newGraph(`${o.arch.name}-train`);
  const c = emptyCollected();
  const x = g.input('input', 'float32', [o.batchSize, ...o.arch.inputShape]);
  const labels = g.input('labels', 'int32', [o.batchSize]);
  const lr = g.input('lr', 'float32', []);
  const step = g.input('step', 'float32', []);
  const frozenStats = o.freezeBatchNormStats ? (bn: string) => o.frozen(`${bn}.weight`) && o.frozen(`${bn}.bias`) : undefined;
  const logits = buildNetwork(context(g, 'train', o, c, { frozenStats }), o.arch, x);
  const loss = softmaxCrossEntropy(g, logits, oneHotTargets(g, labels, o.arch.classes, o.labelSmoothing));
  g.output(loss, 'loss');
  g.output(countCorrect(g, logits, labels), 'correct');
  const trainable = c.params.filter((p) => !o.frozen(p.name));
  if (trainable.length === 0) throw new Error('every parameter is frozen: nothing to train');
  const grads = gradients(g, loss, trainable.map((p) => g.get(p.name)));
  const decay = o.optimizer.decay ?? ((name: string) => c.params.find((p) => p.name === name)!.decay);
  const opt = buildOptimizer(g, o.optimizer, trainable.map((p) => ({
    name: p.name, value: g.get(p.name), grad: grads.get(p.name)!, decay: decay(p.name),
  })), lr, step);
  const carried: string[] = [];
  for (const [name, v] of [...opt.next, ...c.bufferNext]) {
    g.output(v, `${name}.next`);
    carried.push(name);
  }
  return { graph: g, params: c.params, buffers: c.buffers, masks: c.masks, optState: opt.state, carried };
}

/** Eval-mode graph with params and running stats as inputs and a dynamic batch N. */
export function buildEvalGraph(arch: ArchConfig, o: NetOptions): Graph {
  const g = newGraph(`${arch.name}-eval`);
  const x = g.input('input', 'float32', ['N', ...arch.inputShape]);
  g.output(buildNetwork(context(g, 'eval', o, emptyCollected()), arch, x), 'logits');
  return g;
}

/** Standalone inference graph: params baked in, optional BN folding, logits + probabilities. */
export function buildExportGraph(arch: ArchConfig, o: NetOptions & { data: (name: string) => Float32Array; foldBatchNorm: boolean }): Graph {
  const g = newGraph(arch.name);
  const x = g.input('input', 'float32', ['N', ...arch.inputShape]);
  const logits = buildNetwork(context(g, 'export', o, emptyCollected(), { data: o.data, fold: o.foldBatchNorm }), arch, x);
  g.output(logits, 'logits');
  g.output(g.op1('Softmax', [logits], { axis: 1 }), 'probabilities');
  return g;
}
