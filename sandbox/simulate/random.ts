/**
 * A small seeded pseudo-random generator for the simulation: the same seed gives the same
 * stream on every machine and Node version (Math.random cannot be seeded).
 *
 * mulberry32 (Tommy Ettinger, public domain): 32 bits of state, full period 2^32, good enough
 * to shuffle and pick test traffic; not for anything cryptographic.
 */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)]!;
  }

  /** A new array in a random order (Fisher–Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  /** A lower-case word of `length` letters (local parts, tags). */
  word(length: number): string {
    let s = '';
    for (let i = 0; i < length; i++) s += String.fromCharCode(97 + this.int(26));
    return s;
  }
}
