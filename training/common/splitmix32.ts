// splitmix32: turns one 32-bit seed into a stream of well-mixed 32-bit words. Both PRNGs of the
// pipeline (training/data/rng.ts for data order and augmentation, training/nn/rng.ts for
// initialisation and dropout) seed their state from it.
export function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}
