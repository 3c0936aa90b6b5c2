import { describe, expect, it } from "vitest";
import { Random, scheduleSeed } from "./random.js";

describe("Random", () => {
  it("replays the same sequence from the same seed, and another from another", () => {
    const a = new Random(42);
    const b = new Random(42);
    const c = new Random(43);
    const seqA = Array.from({ length: 20 }, () => a.next());
    expect(Array.from({ length: 20 }, () => b.next())).toEqual(seqA);
    expect(Array.from({ length: 20 }, () => c.next())).not.toEqual(seqA);
    expect(seqA.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it("draws integers in range, picks, and weighs", () => {
    const r = new Random(7);
    const ints = Array.from({ length: 500 }, () => r.int(2, 5));
    expect(new Set(ints)).toEqual(new Set([2, 3, 4, 5]));
    expect(["a", "b"]).toContain(r.pick(["a", "b"]));
    expect(() => r.pick([])).toThrow();
    const counts = { x: 0, y: 0 };
    for (let i = 0; i < 2000; i++) counts[r.weighted({ x: 9, y: 1 })]++;
    expect(counts.x).toBeGreaterThan(counts.y * 4);
    expect(counts.y).toBeGreaterThan(0);
  });

  it("gives every schedule of a campaign its own seed", () => {
    const seeds = new Set(Array.from({ length: 50 }, (_, i) => scheduleSeed(1, i)));
    expect(seeds.size).toBe(50);
    expect(scheduleSeed(1, 3)).toBe(scheduleSeed(1, 3));
  });
});
