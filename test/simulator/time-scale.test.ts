import { describe, expect, it } from "vitest";
import { ScaledClock, type Simulator } from "../../simulator/index.js";
import { PASSWORD, clientFor, startTestSim } from "./helpers.js";

// docs/xenapi-notes.md §Simulator checklist, point 25 (§Timings): every duration comes from one scalable clock.
describe("ScaledClock", () => {
  it("waits nominal × timeScale and reports nominal time", async () => {
    const clock = new ScaledClock(0.01);
    const t0 = performance.now();
    const n0 = clock.now();
    await clock.sleep(3_000); // 30 ms real
    expect(performance.now() - t0).toBeGreaterThanOrEqual(29);
    expect(clock.now() - n0).toBeGreaterThanOrEqual(2_900);
    expect(clock.toReal(10_000)).toBe(100);
    let fired = false;
    clock.setTimeout(() => (fired = true), 1);
    clock.dispose();
    await new Promise((r) => setTimeout(r, 5));
    expect(fired).toBe(false);
    expect(() => new ScaledClock(0)).toThrow(RangeError);
  });
});

/** Joins xs2 to xs1 then ejects it; returns xs2's sequence of (role/toolstack) states and the wall time. */
async function lifeCycle(sim: Simulator): Promise<{ seen: string[]; ms: number }> {
  const seen: string[] = [];
  const stop = sim.control.onChange((s) => {
    const h = s.hosts.find((x) => x.name === "xs2")!;
    const tag = `${h.role}/${h.toolstack}/${h.live ? "live" : "dead"}`;
    if (seen.at(-1) !== tag) seen.push(tag);
  });
  const started = performance.now();
  const j = clientFor(sim, "xs2");
  await j.login();
  await j.ok("pool.join", sim.hosts[0]!.address, "root", PASSWORD);
  await sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs2")?.connected && s.hosts[1]!.role === "slave");
  const m = clientFor(sim, "xs1");
  await m.login();
  const [ref] = await m.ok<string[]>("host.get_by_name_label", "xs2");
  await m.ok("pool.eject", ref);
  await sim.control.waitFor((s) => {
    const h = s.hosts.find((x) => x.name === "xs2");
    return h?.role === "master" && h.toolstack === "up" && !h.restartPending;
  });
  stop();
  return { seen, ms: performance.now() - started };
}

describe("time scale", () => {
  it("the same sequence of states at two time scales, wall time scaling with it", async () => {
    const runs: { seen: string[]; ms: number }[] = [];
    for (const [base, timeScale] of [
      ["127.0.1.100", 0.0005],
      ["127.0.1.110", 0.002],
    ] as const) {
      const sim = await startTestSim(base, { hosts: 2, timeScale });
      try {
        runs.push(await lifeCycle(sim));
      } finally {
        await sim.close();
      }
    }
    const [fast, slow] = runs;
    expect(fast!.seen).toEqual([
      "master/up/live", // standalone
      "slave/down/live", // join: toolstack restart after the fuse (its old database still says live)
      "slave/up/live", // a live slave of xs1
      "slave/up/dead", // ejected: its record is gone from the master; reboot after the fuse
      "master/down/dead", // rebooting, pool.conf says master
      "master/up/live", // a fresh standalone host
    ]);
    expect(slow!.seen).toEqual(fast!.seen);
    // Nominal: fuse 10 + restart 20 + eject 5 + fuse 10 + reboot 60 = 105 s → 210 ms at 0.002.
    expect(slow!.ms).toBeGreaterThanOrEqual(105_000 * 0.002);
    expect(slow!.ms).toBeGreaterThan(fast!.ms);
  });
});
