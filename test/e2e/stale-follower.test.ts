/**
 * Issue 15: a member that was down while the master role was handed over boots following the
 * old master (its pool.conf) and never reaches the pool. The agent reports the master its host
 * really follows, and the reconciler repoints it at the recorded master
 * (pool.emergency_reset_master through its agent). Checked against the simulator's state.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OperationState } from "../../gen/hostaggregates/v1/operation_pb.js";
import { startProduct, type Product } from "./product-harness.js";

/**
 * A slave that cannot reach its master keeps answering HOST_IS_SLAVE [old master] for the whole
 * test (nominal 1 h × timeScale 0.005 = 18 s) before it would enter emergency mode, which the
 * master-failure detector's fencing handles on its own.
 */
const simulator = { masterLostGraceMs: 3_600_000 };

describe("a member that was down during a hand-over", () => {
  let p: Product;
  let id: bigint;
  beforeAll(async () => {
    p = await startProduct({ hosts: 3, baseAddress: "127.0.9.40", simulator });
    id = (await p.api.aggregates.createAggregate({ name: "stale" })).id;
    for (const h of ["xs1", "xs2", "xs3"]) await p.addHost(id, h);
  }, 60_000);
  afterAll(async () => p?.close());

  it("boots following the old master, is reported and repointed at the new one", async () => {
    await p.sim.control.power("xs3", false);
    const done = await p.waitOperation((await p.api.hosts.startMaintenance({ host: "xs1" })).id, 60_000);
    expect(done.state, done.error?.message).toBe(OperationState.SUCCEEDED);
    expect((await p.api.aggregates.getAggregate({ id })).pool?.masterHost).toBe("xs2");
    await p.sim.control.power("xs3", true);
    // xs3's pool.conf still names xs1, which is a slave now: xs3 never reaches the pool on its own.
    await p.sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs3" && h.toolstack === "up" && h.master === "xs1" && !h.connected && !h.emergency), 20_000);
    // Its agent says whom it follows (xs1), not the master its pool session reached through xs1's redirect (xs2).
    await p.waitFor(async () => {
      const facts = (await p.api.hosts.getHost({ name: "xs3" })).pool;
      return facts?.masterAddress === p.sim.control.host("xs1").address ? facts : undefined;
    }, 20_000, "xs3's agent to report that it follows xs1");

    await p.waitFor(async () => {
      await p.controller!.reconciler.tick();
      const h = p.sim.control.host("xs3");
      return h.toolstack === "up" && h.role === "slave" && h.master === "xs2" && h.connected ? h : undefined;
    }, 30_000, "xs3 repointed at xs2");
    // The repointed event is written once the agent's call returned, which may be a moment after the simulator shows it.
    const events = await p.waitFor(async () => {
      const { events } = await p.api.events.listEvents({ aggregateId: id, pageSize: 1000 });
      return events.some((e) => e.kind === "host.repointed" && e.host === "xs3") ? events : undefined;
    }, 20_000, "the host.repointed event of xs3");
    expect(events.some((e) => e.kind === "host.repointing" && e.host === "xs3" && /xs1|127\.0\.9\.40/.test(e.message))).toBe(true);
    await p.waitFor(async () => {
      await p.controller!.reconciler.tick();
      const agg = await p.api.aggregates.getAggregate({ id });
      return agg.pool?.drift.length === 0 ? agg : undefined;
    }, 20_000, "no drift left");
  }, 120_000);
});

/** Waits until xs3 follows xs2 again (no reconciler pass: the detector's fencing) and checks the repointing was recorded. */
async function repointedAtXs2(p: Product, id: bigint): Promise<void> {
  await p.waitFor(async () => {
    const h = p.sim.control.host("xs3");
    return h.toolstack === "up" && h.role === "slave" && h.master === "xs2" && h.connected ? h : undefined;
  }, 30_000, "xs3 repointed at xs2");
  const { events } = await p.api.events.listEvents({ aggregateId: id, pageSize: 1000 });
  expect(events.some((e) => e.kind === "host.repointing" && e.host === "xs3")).toBe(true);
}

describe("a member that was down during a hand-over and ends in emergency mode", () => {
  let p: Product;
  let id: bigint;
  beforeAll(async () => {
    // A grace of 2 s real (nominal 400 s × 0.005): long enough for its agent to read the pool through the old master's redirect.
    p = await startProduct({ hosts: 3, baseAddress: "127.0.9.130", simulator: { masterLostGraceMs: 400_000, emergencyRetryMs: 3_600_000 } });
    id = (await p.api.aggregates.createAggregate({ name: "stale-emergency" })).id;
    for (const h of ["xs1", "xs2", "xs3"]) await p.addHost(id, h);
  }, 60_000);
  afterAll(async () => p?.close());

  it("is repointed by the master-failure detector's fencing, since its agent reports the old master it follows", async () => {
    await p.sim.control.power("xs3", false);
    const done = await p.waitOperation((await p.api.hosts.startMaintenance({ host: "xs1" })).id, 60_000);
    expect(done.state, done.error?.message).toBe(OperationState.SUCCEEDED);
    await p.sim.control.power("xs3", true);
    // HOST_STILL_BOOTING: xs3 gave up on xs1 (a slave now) and sits in emergency mode.
    await p.sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs3" && h.toolstack === "up" && h.master === "xs1" && h.emergency), 20_000);
    // No reconciler pass: the detector (every heartbeat interval) repoints it.
    await repointedAtXs2(p, id);
  }, 120_000);
});

describe("a member that sits in emergency mode behind an agent that restarted meanwhile", () => {
  let p: Product;
  let id: bigint;
  beforeAll(async () => {
    p = await startProduct({ hosts: 3, baseAddress: "127.0.9.160", simulator: { masterLostGraceMs: 400_000, emergencyRetryMs: 3_600_000 } });
    id = (await p.api.aggregates.createAggregate({ name: "stale-unknown" })).id;
    for (const h of ["xs1", "xs2", "xs3"]) await p.addHost(id, h);
  }, 60_000);
  afterAll(async () => p?.close());

  it("is repointed although its agent cannot tell which master it follows (emergency mode answers no master)", async () => {
    await p.sim.control.power("xs3", false);
    const done = await p.waitOperation((await p.api.hosts.startMaintenance({ host: "xs1" })).id, 60_000);
    expect(done.state, done.error?.message).toBe(OperationState.SUCCEEDED);
    await p.sim.control.power("xs3", true);
    await p.sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs3" && h.toolstack === "up" && h.master === "xs1" && h.emergency), 20_000);
    // A fresh agent (its process restarted) meets a host that answers every call with HOST_STILL_BOOTING: no master address to report.
    await p.restartAgent("xs3");
    await p.waitFor(async () => {
      const facts = (await p.api.hosts.getHost({ name: "xs3" })).pool;
      return facts?.emergencyMode && facts.masterAddress === "" ? facts : undefined;
    }, 20_000, "xs3's new agent to report emergency mode with no known master");
    await repointedAtXs2(p, id);
  }, 120_000);
});
