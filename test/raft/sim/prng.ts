// mulberry32: a tiny seeded PRNG, good enough to drive schedules and election timeouts, and
// fully determined by its 32-bit seed so any run can be replayed.
export type Rand = () => number;

export function mulberry32(seed: number): Rand {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randInt(rand: Rand, n: number): number {
  return Math.floor(rand() * n);
}

export function pick<T>(rand: Rand, items: readonly T[]): T {
  return items[randInt(rand, items.length)];
}
