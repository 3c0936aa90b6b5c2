import { describe, expect, it } from "vitest";
import type { LoadResult } from "./load-spec.js";
import { withoutBackground } from "./measure.js";

const result = (changes: Partial<LoadResult>): LoadResult => ({ callsPerSecond: 1000, p50Ms: 1, p99Ms: 2, serverCpuUsPerCall: 80, clientCpuUsPerCall: 30, errors: 0, ...changes }) as LoadResult;

describe("withoutBackground", () => {
  it("takes the background's share of each call out of the server CPU per call", () => {
    // 20 ms/s of background at 1,000 calls/s: 20 µs of every call's 80.
    expect(withoutBackground(result({}), 20_000).serverCpuUsPerCall).toBe(60);
    expect(withoutBackground(result({ callsPerSecond: 4000 }), 20_000).serverCpuUsPerCall).toBe(75);
  });

  it("leaves results without a background, without server CPU or without calls as they are, and never goes below 0", () => {
    const r = result({});
    expect(withoutBackground(r)).toBe(r);
    expect(withoutBackground(r, 0)).toBe(r);
    const noCpu = result({ serverCpuUsPerCall: undefined });
    expect(withoutBackground(noCpu, 20_000)).toBe(noCpu);
    const noCalls = result({ callsPerSecond: 0 });
    expect(withoutBackground(noCalls, 20_000)).toBe(noCalls);
    expect(withoutBackground(result({ callsPerSecond: 100 }), 20_000).serverCpuUsPerCall).toBe(0);
  });
});
