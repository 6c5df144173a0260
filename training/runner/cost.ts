// Multiply-accumulates of a built graph's Conv / Gemm / MatMul nodes (static shapes), per image.
import type { ArchConfig } from '../nn/arch.js';
import type { Graph } from '../onnx/graph.js';
import { buildEvalGraph } from './graphs.js';

export function graphMacs(g: Graph, batch: number): number {
  let macs = 0;
  for (const n of g.nodes) {
    const y = n.outputs[0].shape.map((d) => (typeof d === 'number' ? d : batch));
    if (n.op === 'Conv') {
      const w = n.inputs[1].shape as number[];
      macs += y.reduce((a, b) => a * b, 1) * w[1] * w[2] * w[3];
    } else if (n.op === 'Gemm' || n.op === 'MatMul') {
      const a = n.inputs[0].shape.map((d) => (typeof d === 'number' ? d : batch));
      const k = n.op === 'Gemm' && n.attrs.transA ? a[0] : a[a.length - 1];
      macs += y.reduce((p, q) => p * q, 1) * k;
    }
  }
  return macs / batch;
}

/** Forward MACs per image of the network (eval graph, BN not counted). */
export function forwardMacsPerImage(arch: ArchConfig): number {
  return graphMacs(buildEvalGraph(arch, { bnMomentum: 0.1, bnEps: 1e-5 }), 1);
}
