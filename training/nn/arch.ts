// Architecture configuration: the model is data, not code. The engine turns an ArchConfig into a
// train-mode graph (batch statistics, dropout masks) and an eval-mode graph (running statistics,
// no dropout) from the same layer definitions (see training/nn/network.ts).

export type Activation = 'relu' | 'gelu' | 'silu';

/** Depthwise k×k (dilation d, 'same' padding d*(k-1)/2, stride s) -> [BN -> act if dwNorm] ->
 *  pointwise 1×1 -> BN -> act. */
export interface SeparableBlock {
  kind: 'separable';
  out: number;
  k: number;
  dilation: number;
  stride?: 1 | 2;
  /** BN + activation between the depthwise and the pointwise step (MobileNet style). Default false. */
  dwNorm?: boolean;
}

/** Standard k×k conv (dilation d, 'same' padding, stride s) -> BN -> act. For ablations. */
export interface ConvBlock {
  kind: 'conv';
  out: number;
  k: number;
  dilation: number;
  stride?: 1 | 2;
}

/** Max pooling, stride 2; k = 2 (no padding) or 3 (padding 1). */
export interface MaxPoolBlock {
  kind: 'maxpool';
  k?: 2 | 3;
}

/** Inverted dropout with drop probability p (0 <= p < 1); identity in eval mode. */
export interface DropoutBlock {
  kind: 'dropout';
  p: number;
}

export type BlockSpec = SeparableBlock | ConvBlock | MaxPoolBlock | DropoutBlock;

export interface ArchConfig {
  name: string;
  inputShape: [1, 28, 28];
  /** Standard conv 1 -> out, k×k, 'same' padding, + BN + act. */
  stem: { out: number; k: number };
  blocks: BlockSpec[];
  /** Dropout probability before the classifier (after global average pooling); 0 = none. */
  headDropout: number;
  activation: Activation;
  classes: number;
}

/** The architecture named in issue #2 (used by the bench until the model issue sets its own). */
export const DEFAULT_ARCH: ArchConfig = {
  name: 'sepdil-default',
  inputShape: [1, 28, 28],
  stem: { out: 32, k: 3 },
  blocks: [
    { kind: 'separable', out: 64, k: 3, dilation: 1 },
    { kind: 'separable', out: 64, k: 3, dilation: 2 },
    { kind: 'maxpool', k: 2 },
    { kind: 'separable', out: 128, k: 3, dilation: 2 },
    { kind: 'separable', out: 128, k: 3, dilation: 3 },
    { kind: 'maxpool', k: 2 },
    { kind: 'separable', out: 128, k: 3, dilation: 1 },
  ],
  headDropout: 0,
  activation: 'relu',
  classes: 10,
};
