// Reverse mode over a built graph: walks the nodes backwards from the loss, calls each op's
// vector-Jacobian rule, and sums gradient contributions per value. Only nodes that lie on a path
// from a `wrt` value to the loss get rules applied; inputs that need no gradient get no nodes.
import type { Graph } from '../onnx/graph.js';
import type { Node, Value } from '../onnx/types.js';
import { shapeStr } from '../onnx/types.js';
import { sameShape } from './broadcast.js';
import { opDef } from './registry.js';
import type { GradContext } from './rule.js';

export interface GradOptions {
  /** Gradient of the loss itself (defaults to 1; the loss must then be a scalar). */
  seed?: Value;
}

export function gradients(g: Graph, loss: Value, wrt: readonly Value[], o: GradOptions = {}): Map<string, Value> {
  const nodes = [...g.nodes];
  // Values that depend on some wrt value.
  const live = new Set(wrt.map((v) => v.name));
  for (const n of nodes) if (n.inputs.some((v) => live.has(v.name))) n.outputs.forEach((v) => live.add(v.name));
  if (!live.has(loss.name)) throw new Error(`loss ${loss.name} does not depend on any of the requested values`);
  // Values the loss depends on.
  const useful = new Set([loss.name]);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if (n.outputs.some((v) => useful.has(v.name))) n.inputs.forEach((v) => v.name && useful.add(v.name));
  }

  const parts = new Map<string, Value[]>();
  // A contribution may have a shape that broadcasts to the value's (e.g. the [1,C,1,1] gradient
  // of a mean): summing stays cheap and the total is expanded only if nothing full-sized arrives.
  const fits = (gs: Value['shape'], vs: Value['shape']) =>
    gs.length === vs.length && gs.every((d, i) => d === vs[i] || d === 1);
  const add = (v: Value, grad: Value) => {
    if (grad.dtype !== v.dtype || !fits(grad.shape, v.shape)) {
      throw new Error(`gradient of ${v.name} has ${grad.dtype}${shapeStr(grad.shape)}, value is ${v.dtype}${shapeStr(v.shape)}`);
    }
    const l = parts.get(v.name);
    if (l) l.push(grad); else parts.set(v.name, [grad]);
  };
  const total = (name: string, expand = true): Value | undefined => {
    const l = parts.get(name);
    if (!l || l.length === 0) return undefined;
    if (l.length > 1) {
      // Full-sized terms first, so the broadcast term is added once at the end.
      const fullTerms = l.filter((v) => sameShape(v.shape, g.get(name).shape));
      const small = l.filter((v) => !fullTerms.includes(v));
      const smallSum: Value | undefined = small.length > 1 ? g.op1('Sum', small) : small[0];
      let acc = fullTerms.length > 1 ? g.op1('Sum', fullTerms) : fullTerms[0];
      acc = acc && smallSum ? g.op1('Add', [acc, smallSum]) : (acc ?? smallSum!);
      parts.set(name, [acc]);
    }
    let t = parts.get(name)![0];
    const target = g.get(name).shape;
    if (expand && !sameShape(t.shape, target)) {
      t = g.op1('Expand', [t, g.ints(target as number[])]);
      parts.set(name, [t]);
    }
    return t;
  };

  if (o.seed) add(loss, o.seed);
  else {
    if (loss.shape.some((d) => d !== 1)) throw new Error(`loss ${loss.name} ${shapeStr(loss.shape)} is not a scalar; pass a seed gradient`);
    add(loss, g.op1('Reshape', [g.scalar(1), g.ints(loss.shape as number[])]));
  }

  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if (!n.outputs.some((v) => useful.has(v.name) && live.has(v.name) && parts.has(v.name))) continue;
    const needs = (k: number) => { const v = n.inputs[k]; return !!v && v.name !== '' && live.has(v.name) && v.dtype === 'float32'; };
    if (!n.inputs.some((_, k) => needs(k))) continue;
    const def = opDef(n.op);
    if (!def || def.grad === undefined) throw new Error(`no gradient rule for op ${n.op} (node ${n.name})`);
    if (def.grad === 'zero') continue;
    const ctx: GradContext = {
      g, node: n, attrs: n.attrs,
      input: (k) => n.inputs[k],
      output: (k) => n.outputs[k],
      gradOut: (k) => (n.outputs[k] ? total(n.outputs[k].name, !def.broadcastGrad) : undefined),
      needs,
    };
    let grads: (Value | undefined)[];
    try {
      grads = def.grad(ctx);
    } catch (e) {
      throw new Error(`gradient of ${n.op} (node ${n.name}): ${(e as Error).message}`);
    }
    grads.forEach((gv, k) => { if (gv && needs(k)) add(n.inputs[k], gv); });
  }

  const out = new Map<string, Value>();
  for (const v of wrt) {
    const gv = total(v.name);
    if (!gv) throw new Error(`${v.name} does not affect the loss`);
    out.set(v.name, g.op1('Identity', [gv], {}, g.has(`${v.name}_grad`) ? undefined : `${v.name}_grad`));
  }
  return out;
}

