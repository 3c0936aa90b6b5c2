/**
 * A joining host that loses power mid-join: JoinPool must not wait out its whole deadline for
 * HOST_IS_SLAVE when the host came back standalone (the join was never committed), and must still
 * finish the join when the power loss came after the commit (pool.conf already names the master),
 * or when an answer of the host was only slow (a timeout is not a restart).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { HostRole } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import { expectRpcError } from "../support/rpc-errors.js";
import { fastAgentOptions, startAgentWorld, type AgentWorld } from "./agent-harness.js";

const xs1 = "127.0.7.70";
/** JoinPool's own deadline: the early end must come well before it. */
const joinTimeoutMs = 60_000;

describe("JoinPool when the joining host loses power", () => {
  let w: AgentWorld;
  const client = (name: string) => w.agent(name).client;

  beforeAll(async () => {
    // A 1 s fuse (real time) between the join's commit and the toolstack restart.
    w = await startAgentWorld({ sim: { hosts: 4, baseAddress: xs1, fuseMs: 100_000 }, agentsFor: ["xs1"] });
    for (const name of ["xs2", "xs3"]) await w.addAgent(name, { timings: { ...fastAgentOptions.timings, joinTimeoutMs } });
    // Short XenAPI call timeout: a slow answer times out (it is not a restart).
    await w.addAgent("xs4", { callTimeoutMs: 300, timings: { ...fastAgentOptions.timings, joinTimeoutMs } });
  });
  afterAll(async () => {
    await w?.close();
  });

  it("before the join is committed: ends early with FAILED_PRECONDITION saying the host is standalone again", async () => {
    // pool.join hangs on xs2 until the host goes down: the power loss lands inside the call.
    w.sim.control.setFault("xs2", { method: "pool.join", hang: true });
    const started = Date.now();
    const call = client("xs2").joinPool({ masterAddress: xs1 });
    await w.sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs2")?.faults === 0, 10_000);
    await w.sim.control.power("xs2", false);
    await w.sim.control.power("xs2", true);
    const err = await expectRpcError(call, Code.FailedPrecondition);
    const tookMs = Date.now() - started;
    expect(err.rawMessage).toMatch(/came back standalone/);
    expect(err.rawMessage).toMatch(/join to the pool of 127\.0\.7\.70 did not happen/);
    // Boot is 600 ms at timeScale 0.01: the call ends soon after, nowhere near its deadline.
    expect(tookMs).toBeLessThan(joinTimeoutMs / 6);
    expect(w.host("xs2")).toMatchObject({ role: "master", toolstack: "up" });
    expect(w.host("xs2").poolUuid).not.toBe(w.host("xs1").poolUuid);

    // Not a dead end: joining again works.
    const pool = await client("xs2").joinPool({ masterAddress: xs1 });
    expect(pool.members.map((m) => m.uuid)).toContain(w.host("xs2").uuid);
    expect(w.host("xs2")).toMatchObject({ role: "slave", master: "xs1", connected: true });
  });

  it("after the join is committed (power lost in the fuse): the host boots as a slave and the join succeeds", async () => {
    const call = client("xs3").joinPool({ masterAddress: xs1 });
    // pool.conf already points at xs1; the toolstack restart is pending.
    await w.sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs3")?.restartPending, 10_000);
    await w.sim.control.power("xs3", false);
    await w.sim.control.power("xs3", true);
    const pool = await call;
    expect(pool.members.map((m) => m.uuid)).toContain(w.host("xs3").uuid);
    expect(w.host("xs3")).toMatchObject({ role: "slave", master: "xs1", connected: true });
    expect((await client("xs3").getHostInfo({})).role).toBe(HostRole.SLAVE);
  });

  it("a probe that only timed out during the fuse is not a restart: the join goes on and succeeds", async () => {
    // The moment the join is committed, the host's next session.get_this_host (the wait's first look) answers after 500 ms.
    let armed = false;
    const stop = w.sim.control.onChange((s) => {
      if (armed || !s.hosts.find((h) => h.name === "xs4")?.restartPending) return;
      armed = true;
      w.sim.control.setFault("xs4", { method: "session.get_this_host", delayMs: 50_000 });
    });
    try {
      const pool = await client("xs4").joinPool({ masterAddress: xs1 });
      expect(armed).toBe(true);
      expect(pool.members.map((m) => m.uuid)).toContain(w.host("xs4").uuid);
      expect(w.host("xs4")).toMatchObject({ role: "slave", master: "xs1", connected: true });
    } finally {
      stop();
    }
  });
});
