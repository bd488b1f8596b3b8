// The playground's seeded random generator: xoshiro128** seeded by splitmix32, drawn
// exactly as deltanet/playground/_prng.py draws it, so that a lesson gives the same data,
// initial weights, permutations and dropout masks here as in Python.
// Streams keep the draws apart: the data (0), the initial weights (1), epoch e (2 + e).

export const DATA = 0;
export const WEIGHTS = 1;
export const EPOCHS = 2;

const rotl = (x, k) => ((x << k) | (x >>> (32 - k))) >>> 0;

export class Prng {
  constructor(seed, stream = 0) {
    let state = ((seed >>> 0) ^ Math.imul(stream, 0x85ebca6b)) >>> 0;
    this.s = [];
    for (let k = 0; k < 4; k += 1) {
      state = (state + 0x9e3779b9) >>> 0;        // splitmix32
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s.push((z ^ (z >>> 16)) >>> 0);
    }
    if (this.s.every((w) => w === 0)) this.s[0] = 1;
  }

  // The next 32-bit output of xoshiro128**.
  uint32() {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] = (s[2] ^ s[0]) >>> 0;
    s[3] = (s[3] ^ s[1]) >>> 0;
    s[1] = (s[1] ^ s[2]) >>> 0;
    s[0] = (s[0] ^ s[3]) >>> 0;
    s[2] = (s[2] ^ t) >>> 0;
    s[3] = rotl(s[3], 11);
    return result;
  }

  // A double in [0, 1) from two draws: ((a >> 5) * 2^26 + (b >> 6)) / 2^53.
  random() {
    const a = this.uint32() >>> 5;
    const b = this.uint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  uniform(low, high) { return low + (high - low) * this.random(); }

  // Box–Muller: μ + σ √(−2 log(1 − u1)) cos(2π u2).
  normal(loc, scale) {
    const u1 = this.random();
    const u2 = this.random();
    return loc + scale * (Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2));
  }

  // A random order of 0 … n − 1 (Fisher–Yates from the top).
  permutation(n) {
    const order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i -= 1) {
      const j = Math.floor(this.random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    return order;
  }
}
