// The one map from op type to definition (forward inference + gradient rule). Ops without a
// gradient are either marked 'zero' on purpose or have none (asking for it throws).
import { Graph } from '../onnx/graph.js';
import { convOps } from './ops/conv.js';
import { elementwiseOps } from './ops/elementwise.js';
import { lossOps } from './ops/loss.js';
import { matmulOps } from './ops/matmul.js';
import { normOps } from './ops/norm.js';
import { poolOps } from './ops/pool.js';
import { reduceOps } from './ops/reduce.js';
import { shapeOps } from './ops/shape.js';
import type { OpDef } from './rule.js';

const REGISTRY = new Map<string, OpDef>();
for (const def of [...elementwiseOps, ...matmulOps, ...convOps, ...poolOps, ...reduceOps, ...shapeOps, ...normOps, ...lossOps]) {
  if (REGISTRY.has(def.op)) throw new Error(`op ${def.op} registered twice`);
  REGISTRY.set(def.op, def);
}

export function opDef(op: string): OpDef | undefined {
  return REGISTRY.get(op);
}

export function registeredOps(): string[] {
  return [...REGISTRY.keys()].sort();
}

/** Ops whose gradient is implemented (a function) or zero on purpose. */
export function differentiableOps(): string[] {
  return registeredOps().filter((op) => REGISTRY.get(op)?.grad !== undefined);
}

/** A graph builder that knows every registered op. */
export function newGraph(name = 'graph'): Graph {
  return new Graph((op) => REGISTRY.get(op)?.infer, name);
}
