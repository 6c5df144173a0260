// ArchConfig -> graph: stem conv+BN+act -> blocks -> GlobalAveragePool -> [dropout] -> linear.
// One definition serves train mode, eval mode and export (see layers.ts NetContext).
import type { Value } from '../onnx/types.js';
import type { ArchConfig } from './arch.js';
import { activation, convBn, conv, dropout, linear, maxPool, type NetContext } from './layers.js';

export function validateArch(a: ArchConfig): void {
  const bad = (m: string) => { throw new Error(`arch ${a.name}: ${m}`); };
  if (a.inputShape.join() !== '1,28,28') bad('inputShape must be [1,28,28]');
  if (!(a.classes >= 2)) bad('classes must be >= 2');
  if (!(a.headDropout >= 0 && a.headDropout < 1)) bad('headDropout must be in [0,1)');
  if (a.stem.k % 2 !== 1 || a.stem.out < 1) bad('stem needs an odd k and out >= 1');
  a.blocks.forEach((b, i) => {
    if ((b.kind === 'separable' || b.kind === 'conv') && (b.k % 2 !== 1 || b.dilation < 1 || b.out < 1)) bad(`block ${i}: odd k, dilation >= 1, out >= 1`);
    if (b.kind === 'dropout' && !(b.p >= 0 && b.p < 1)) bad(`block ${i}: dropout p must be in [0,1)`);
  });
}

/** Builds the network on `x` ([N,1,28,28]) and returns the logits [N, classes]. */
export function buildNetwork(ctx: NetContext, arch: ArchConfig, x: Value): Value {
  validateArch(arch);
  const g = ctx.g;
  const act = (v: Value) => activation(ctx, v, arch.activation);
  let h = act(convBn(ctx, x, { name: 'stem.conv', out: arch.stem.out, k: arch.stem.k, dilation: 1, stride: 1, group: 1 }, 'stem.bn'));
  arch.blocks.forEach((b, i) => {
    const p = `blocks.${i}`;
    const cin = h.shape[1] as number;
    switch (b.kind) {
      case 'separable': {
        const dw = { name: `${p}.dw`, out: cin, k: b.k, dilation: b.dilation, stride: b.stride ?? 1, group: cin };
        h = b.dwNorm ? act(convBn(ctx, h, dw, `${p}.dw_bn`)) : conv(ctx, h, dw);
        h = act(convBn(ctx, h, { name: `${p}.pw`, out: b.out, k: 1, dilation: 1, stride: 1, group: 1 }, `${p}.bn`));
        break;
      }
      case 'conv':
        h = act(convBn(ctx, h, { name: `${p}.conv`, out: b.out, k: b.k, dilation: b.dilation, stride: b.stride ?? 1, group: 1 }, `${p}.bn`));
        break;
      case 'maxpool':
        h = maxPool(ctx, h, b.k ?? 2);
        break;
      case 'dropout':
        h = dropout(ctx, h, `${p}.dropout`, b.p);
        break;
    }
  });
  h = g.op1('Flatten', [g.op1('GlobalAveragePool', [h])], { axis: 1 });
  h = dropout(ctx, h, 'head.dropout', arch.headDropout);
  return linear(ctx, h, 'head.fc', arch.classes);
}
