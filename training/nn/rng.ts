// Seeded PRNG (splitmix32 seeding + xoshiro128**) so initialisation and dropout masks are
// reproducible across runs and across save/restore.

import { splitmix32 } from '../common/splitmix32.js';

export class Rng {
  private a: number; private b: number; private c: number; private d: number;
  private spare: number | undefined;

  /** `keys` mix into the seed, e.g. new Rng(seed, step, layer) for a per-step stream. */
  constructor(seed: number, ...keys: number[]) {
    let h = seed >>> 0;
    for (const k of keys) h = splitmix32(h ^ Math.imul(k >>> 0, 0x27d4eb2f))();
    const sm = splitmix32(h);
    this.a = sm(); this.b = sm(); this.c = sm(); this.d = sm();
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** Uniform uint32. */
  next(): number {
    const r = Math.imul(((Math.imul(this.b, 5) << 7) | (Math.imul(this.b, 5) >>> 25)), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a; this.d ^= this.b; this.b ^= this.c; this.a ^= this.d;
    this.c ^= t;
    this.d = (this.d << 11) | (this.d >>> 21);
    return r;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.next() / 4294967296;
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    if (this.spare !== undefined) { const s = this.spare; this.spare = undefined; return s; }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  fill(n: number, f: (r: Rng) => number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = f(this);
    return out;
  }
}
