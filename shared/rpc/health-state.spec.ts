/** HealthState: phases, per-service statuses, the probe, and what watchers see. */
import { describe, expect, it, vi } from "vitest";
import { silentLogger } from "../logging.js";
import { HealthState, type HealthProbe } from "./health-state.js";

/** A probe whose answer the test sets; counts its runs. */
function switchableProbe(intervalMs = 10): HealthProbe & { ok: boolean; runs: number } {
  const probe = {
    ok: true,
    runs: 0,
    intervalMs,
    timeoutMs: 1000,
    check: async () => {
      probe.runs++;
      if (!probe.ok) throw new Error("database is locked");
    },
  };
  return probe;
}

function state(probe?: HealthProbe): HealthState {
  return new HealthState({ services: ["grpc.health.v1.Health"], probedServices: ["api.Service"], probe, log: silentLogger });
}

describe("HealthState", () => {
  it("is NOT_SERVING while starting and draining, SERVING in between; unknown services are undefined", async () => {
    const h = state();
    expect(await h.check("")).toBe("not-serving");
    expect(await h.check("api.Service")).toBe("not-serving");
    h.setServing();
    expect(await h.check("")).toBe("serving");
    expect(await h.check("grpc.health.v1.Health")).toBe("serving");
    expect(await h.check("api.Service")).toBe("serving");
    expect(await h.check("no.Such")).toBeUndefined();
    h.setDraining();
    h.setServing(); // never undone
    expect(h.phase).toBe("draining");
    expect(await h.check("")).toBe("not-serving");
    expect(await h.check("no.Such")).toBeUndefined();
  });

  it("a failing probe makes the overall status and the probed services NOT_SERVING, not the others", async () => {
    const probe = switchableProbe();
    const h = state(probe);
    h.setServing();
    expect(await h.check("")).toBe("serving");
    probe.ok = false;
    expect(await h.check("")).toBe("not-serving");
    expect(await h.check("api.Service")).toBe("not-serving");
    expect(await h.check("grpc.health.v1.Health")).toBe("serving");
    probe.ok = true;
    expect(await h.check("api.Service")).toBe("serving");
  });

  it("counts a probe slower than its timeout as failed", async () => {
    const h = state({ check: () => new Promise(() => {}), timeoutMs: 20 });
    h.setServing();
    expect(await h.check("")).toBe("not-serving");
  });

  it("shares one probe run between concurrent checks", async () => {
    const probe = switchableProbe();
    const h = state(probe);
    h.setServing();
    await h.check("");
    const before = probe.runs;
    await Promise.all([h.check(""), h.check("api.Service"), h.check("")]);
    expect(probe.runs - before).toBe(1);
  });

  it("Watch sends the status, then each change (the probe polled meanwhile), the draining one before it ends", async () => {
    const probe = switchableProbe();
    const h = state(probe);
    const abort = new AbortController();
    const watch = h.watch("", abort.signal);
    expect((await watch.next()).value).toBe("not-serving");
    h.setServing();
    expect((await watch.next()).value).toBe("serving");
    probe.ok = false;
    expect((await watch.next()).value).toBe("not-serving");
    probe.ok = true;
    expect((await watch.next()).value).toBe("serving");
    // Draining and the shutdown's abort in the same tick: the change still arrives, then the stream ends.
    const next = watch.next();
    h.setDraining();
    abort.abort();
    expect((await next).value).toBe("not-serving");
    expect((await watch.next()).done).toBe(true);
  });

  it("Watch of an unknown service sends undefined once and stays open until aborted", async () => {
    const h = state();
    h.setServing();
    const abort = new AbortController();
    const watch = h.watch("no.Such", abort.signal);
    expect(await watch.next()).toEqual({ value: undefined, done: false });
    const next = watch.next();
    h.setDraining();
    abort.abort();
    expect((await next).done).toBe(true);
  });

  it("probes on a timer exactly while watched", async () => {
    vi.useFakeTimers();
    try {
      const probe = switchableProbe(5);
      const h = state(probe);
      h.setServing();
      const abort = new AbortController();
      const watch = h.watch("", abort.signal);
      await watch.next();
      const started = probe.runs;
      await vi.advanceTimersByTimeAsync(20);
      expect(probe.runs).toBeGreaterThanOrEqual(started + 3);
      abort.abort();
      expect((await watch.next()).done).toBe(true);
      const after = probe.runs;
      await vi.advanceTimersByTimeAsync(100);
      expect(probe.runs).toBe(after);
    } finally {
      vi.useRealTimers();
    }
  });
});
