// A small architecture that uses every block kind the engine supports (conv blocks, stride 2,
// depthwise norm, 3×3 pool, dropout, GELU), shared by the registry and Trainer tests.
import type { ArchConfig } from '../../../../training/nn/arch.js';

export const EVERY_BLOCK_ARCH: ArchConfig = {
  name: 'every-block', inputShape: [1, 28, 28], stem: { out: 8, k: 5 }, activation: 'gelu', classes: 10, headDropout: 0.2,
  blocks: [
    { kind: 'separable', out: 8, k: 3, dilation: 2, dwNorm: true },
    { kind: 'conv', out: 8, k: 3, dilation: 3 },
    { kind: 'maxpool', k: 3 },
    { kind: 'dropout', p: 0.1 },
    { kind: 'separable', out: 16, k: 5, dilation: 1, stride: 2 },
    { kind: 'conv', out: 8, k: 3, dilation: 1, stride: 2 },
  ],
};
