// Seeded PRNG (sfc32, seeded through splitmix32). Deterministic on every runtime.

const GAMMA = 0x9e3779b9;

/** splitmix32's output for state z. */
function splitmix32(z: number): number {
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    // splitmix32's sequence from seed: s + 1·γ, s + 2·γ, ... (a top-level function, not a closure: one per run).
    const s = seed >>> 0;
    this.a = splitmix32((s + GAMMA) | 0);
    this.b = splitmix32((s + 2 * GAMMA) | 0);
    this.c = splitmix32((s + 3 * GAMMA) | 0);
    this.d = splitmix32((s + 4 * GAMMA) | 0);
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** Next unsigned 32-bit integer. */
  u32(): number {
    return this.i32() >>> 0;
  }

  /**
   * The same draw as u32(), as a signed 32-bit integer (u32() is this >>> 0):
   * it stays an int32 in the JIT, where a u32 past 2^31 is a double. The
   * simulator's per-step draws use it (sched.ts).
   */
  i32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t;
  }

  /** Integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }
}
