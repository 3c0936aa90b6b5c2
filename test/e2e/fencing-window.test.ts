/**
 * Issue 15 §3: a returning old master is fenced as soon as its agent reports its XAPI back, not at
 * the next heartbeat or detector pass. Sandbox settings: timeScale 0.1, 5 s heartbeats, agents
 * polling every 200 ms; the detector's timer is off, so only the agent's immediate report can
 * make it fast. The simulator's states are recorded (control.onChange) to check the ordering —
 * the old master is repointed before any survivor follows it, and no survivor ever does — and to
 * measure the window during which it answers as the master of its old pool.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OperationState } from "../../gen/hostaggregates/v1/operation_pb.js";
import type { SimulatorState } from "../../simulator/index.js";
import { startProduct, type Product } from "./product-harness.js";

const heartbeatIntervalMs = 5_000;
const timeScale = 0.1;
/** The bound: the old master answers as master of its old pool for at most this long after its XAPI is back. */
const windowBoundMs = 2_000;

/** What matters of one recorded state: the old master's answer, and who follows it. */
interface Moment {
  at: number;
  /** up-and-master, i.e. it answers as master (of a pool copy: split brain). */
  answersAsMaster: boolean;
  /** Its pool.conf names another master (emergency_reset_master was applied). */
  repointed: boolean;
  toolstack: string;
  /** Other hosts connected as its slaves. */
  followers: string[];
}

function momentOf(state: SimulatorState, old: string): Moment {
  const h = state.hosts.find((x) => x.name === old)!;
  return {
    at: Date.now(),
    answersAsMaster: h.toolstack === "up" && h.role === "master",
    repointed: h.masterAddress !== h.address,
    toolstack: h.toolstack,
    followers: state.hosts.filter((x) => x.name !== old && x.toolstack === "up" && x.role === "slave" && x.master === old && x.connected).map((x) => x.name),
  };
}

describe("fencing a returning old master at once", () => {
  let p: Product;
  beforeAll(async () => {
    p = await startProduct({
      hosts: 3,
      baseAddress: "127.0.7.40",
      timeScale,
      heartbeatIntervalMs,
      pollIntervalMs: 200,
      masterCheckIntervalMs: 0,
      // Slaves give up on a dead master after 1 s (real: 60 s); a boot takes 2 s.
      simulator: { masterLostGraceMs: 10_000, bootMs: 20_000 },
    });
  }, 60_000);
  afterAll(async () => p?.close());

  it("repoints it before any survivor follows it (none ever does), within 2 s of its XAPI coming back, with 5 s heartbeats", async () => {
    const agg = await p.api.aggregates.createAggregate({ name: "fence-now" });
    for (const host of ["xs1", "xs2", "xs3"]) await p.addHost(agg.id, host);
    const poolUuid = p.sim.control.host("xs1").poolUuid;

    await p.sim.control.power("xs1", false);
    // The detector's timer is off: an operator recovers (accepted once a heartbeat reported xs1's XAPI down).
    const recovery = await p.waitFor(() => p.api.aggregates.recoverMaster({ id: agg.id }).catch(() => undefined), 30_000, "RecoverMaster accepted");
    const recovered = await p.waitOperation(recovery.id, 60_000);
    expect(recovered.state, recovered.error?.message).toBe(OperationState.SUCCEEDED);
    const newMaster = (await p.api.aggregates.getAggregate({ id: agg.id })).pool!.masterHost;
    expect(["xs2", "xs3"]).toContain(newMaster);
    const survivor = newMaster === "xs2" ? "xs3" : "xs2";
    expect(p.sim.control.host(survivor)).toMatchObject({ role: "slave", master: newMaster, connected: true });

    const moments: Moment[] = [];
    const stop = p.sim.control.onChange((state) => {
      const m = momentOf(state, "xs1");
      const last = moments.at(-1);
      if (!last || last.answersAsMaster !== m.answersAsMaster || last.repointed !== m.repointed || last.toolstack !== m.toolstack || last.followers.join() !== m.followers.join()) moments.push(m);
    });
    try {
      // Power on right after a heartbeat of xs1's agent: its XAPI is back (bootMs, 2 s) 3 s before the
      // next heartbeat is due, so only the immediate report can make the window short.
      const xs1Agent = p.agents[0]!;
      const beats = xs1Agent.stats().heartbeats;
      await p.waitFor(async () => xs1Agent.stats().heartbeats > beats, 2 * heartbeatIntervalMs, "a heartbeat of xs1's agent");
      await p.sim.control.power("xs1", true);
      await p.waitFor(async () => {
        const h = p.sim.control.host("xs1");
        const record = await p.api.hosts.getHost({ name: "xs1" });
        return h.toolstack === "up" && h.role === "slave" && h.master === newMaster && h.connected && /fenced/.test(record.statusReason) ? true : undefined;
      }, 30_000, "xs1 fenced and following the new master");
    } finally {
      stop();
    }

    const up = moments.findIndex((m) => m.answersAsMaster);
    expect(up, "xs1 came back as a master of its old pool").toBeGreaterThanOrEqual(0);
    const repointed = moments.findIndex((m, i) => i > up && m.repointed);
    const silenced = moments.findIndex((m, i) => i > up && !m.answersAsMaster);
    expect(repointed).toBeGreaterThan(up);
    expect(silenced).toBeGreaterThan(up);
    // No survivor ever follows it: not before it was repointed, not after.
    expect(moments.flatMap((m) => m.followers)).toEqual([]);
    // After it stopped answering as master, it never answers as master again (it restarts as a slave).
    expect(moments.slice(silenced).some((m) => m.answersAsMaster)).toBe(false);

    const repointMs = moments[repointed]!.at - moments[up]!.at;
    const windowMs = moments[silenced]!.at - moments[up]!.at;
    const { fuseMs } = p.sim.durations;
    console.log(
      `fencing window (timeScale ${timeScale}, heartbeats ${heartbeatIntervalMs} ms): XAPI up → emergency_reset_master applied ${repointMs} ms; ` +
        `XAPI up → no longer answering as master ${windowMs} ms (of which the toolstack fuse ${fuseMs * timeScale} ms)`,
    );
    expect(windowMs).toBeLessThan(windowBoundMs);
    expect(windowMs).toBeLessThan(heartbeatIntervalMs / 2);
    expect(p.sim.control.state().hosts.filter((h) => h.toolstack === "up" && h.role === "master" && h.poolUuid === poolUuid).map((h) => h.name)).toEqual([newMaster]);
  }, 120_000);
});
