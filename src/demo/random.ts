/** A small seeded PRNG (mulberry32): demo data is the same on every run for the same seed. */
export class Random {
  private state: number;
  constructor(seed = 42) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** Skewed towards small values: a few popular items, a long tail. */
  skewed(max: number, power = 3): number {
    return 1 + Math.floor(Math.pow(this.next(), power) * max);
  }
}
