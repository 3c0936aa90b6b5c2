/**
 * Pool-changing calls that XenServer accepted, whose confirmation then reads a XenAPI error: JoinPool
 * (the fault campaign, seed 675439817), DesignateNewMaster and EjectHost must not answer with that
 * XenAPI code, which tells the controller XenServer refused the call and left the pool as it was (it
 * would then undo its record of a change that happened). Each answers UNAVAILABLE (the step runs
 * again), and the same call again finds the change made. The cases run in order on one pool.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { xapiErrorOf } from "../../shared/errors.js";
import { expectRpcError } from "../support/rpc-errors.js";
import { startAgentWorld, type AgentWorld } from "./agent-harness.js";

const failedRead = { method: "host.get_all_records", error: ["INTERNAL_ERROR", "read failed"], count: 100_000 };

const xs1 = "127.0.7.130";

describe("pool-changing calls whose confirmation reads a XenAPI error after XenServer accepted them", () => {
  let w: AgentWorld;

  beforeAll(async () => {
    w = await startAgentWorld({ sim: { hosts: 2, baseAddress: xs1 }, agentsFor: ["xs1", "xs2"] });
  });
  afterAll(async () => {
    await w?.close();
  });

  it("answers UNAVAILABLE without a XenAPI code, and joining again confirms the membership", async () => {
    // Every pool read on the master fails; pool.join itself (on xs2, logging in to xs1) does not read it.
    w.sim.control.setFault("xs1", failedRead);
    const err = await expectRpcError(w.agent("xs2").client.joinPool({ masterAddress: xs1 }), Code.Unavailable);
    expect(err.rawMessage).toMatch(/pool\.join was sent; then .*INTERNAL_ERROR \[read failed\]/);
    expect(xapiErrorOf(err)).toBeUndefined();
    // The join happened: xs2 follows xs1.
    await w.sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs2" && h.role === "slave" && h.master === "xs1" && h.connected), 20_000);

    w.sim.control.clearFaults("xs1");
    const pool = await w.agent("xs2").client.joinPool({ masterAddress: xs1 });
    expect(pool.members.map((m) => m.uuid)).toContain(w.host("xs2").uuid);
  });

  /** Holds `method` on `host` a moment, and once the call is held makes every pool read on `readers` fail. */
  async function failReadsOnceSent(host: string, method: string, readers: string[]): Promise<void> {
    w.sim.control.setFault(host, { method, delayMs: 30_000 });
    await w.sim.control.waitFor((s) => s.hosts.find((h) => h.name === host)?.faults === 0, 20_000);
    for (const r of readers) w.sim.control.setFault(r, failedRead);
  }

  it("DesignateNewMaster answers UNAVAILABLE without a XenAPI code; designating again confirms the new master", async () => {
    // xs2 follows xs1 (the case above).
    const call = w.agent("xs1").client.designateNewMaster({ hostUuid: w.host("xs2").uuid });
    await failReadsOnceSent("xs1", "pool.designate_new_master", ["xs1", "xs2"]);
    const err = await expectRpcError(call, Code.Unavailable);
    expect(err.rawMessage).toMatch(/pool\.designate_new_master of xs2 was sent; then .*INTERNAL_ERROR \[read failed\]/);
    expect(xapiErrorOf(err)).toBeUndefined();
    // The designation happened.
    await w.sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs1" && h.role === "slave" && h.master === "xs2" && h.connected), 20_000);

    w.sim.control.clearFaults("xs1");
    w.sim.control.clearFaults("xs2");
    const pool = await w.agent("xs1").client.designateNewMaster({ hostUuid: w.host("xs2").uuid });
    expect(pool.masterUuid).toBe(w.host("xs2").uuid);
  });

  it("EjectHost answers UNAVAILABLE without a XenAPI code; ejecting again finds the host gone", async () => {
    // xs2 is the master now (the case above); eject xs1 through xs2's agent.
    const call = w.agent("xs2").client.ejectHost({ hostUuid: w.host("xs1").uuid });
    await failReadsOnceSent("xs2", "pool.eject", ["xs2"]);
    const err = await expectRpcError(call, Code.Unavailable);
    expect(err.rawMessage).toMatch(/pool\.eject of xs1 was sent; then .*INTERNAL_ERROR \[read failed\]/);
    expect(xapiErrorOf(err)).toBeUndefined();
    // The eject happened: xs1 comes back standalone.
    await w.sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs1" && h.role === "master" && h.connected), 20_000);

    w.sim.control.clearFaults("xs2");
    const pool = await w.agent("xs2").client.ejectHost({ hostUuid: w.host("xs1").uuid });
    expect(pool.members.map((m) => m.uuid)).toEqual([w.host("xs2").uuid]);
  });
});
