/**
 * EjectHost and DesignateNewMaster whose confirmation reads a XenAPI error after XenServer accepted
 * the call (the flaw the fault campaign found in JoinPool, seed 675439817): the answer must not carry
 * that XenAPI code, which tells the controller the pool was left as it was. Both answer UNAVAILABLE
 * (the step runs again), and the same call again finds the change made.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { xapiErrorOf } from "../../shared/errors.js";
import { expectRpcError } from "../support/rpc-errors.js";
import { startAgentWorld, type AgentWorld } from "./agent-harness.js";

const xs1 = "127.0.7.160";
const failedRead = { method: "host.get_all_records", error: ["INTERNAL_ERROR", "read failed"], count: 100_000 };

describe("EjectHost and DesignateNewMaster whose wait reads a XenAPI error once the call was accepted", () => {
  let w: AgentWorld;

  beforeAll(async () => {
    w = await startAgentWorld({ sim: { hosts: 2, baseAddress: xs1 }, agentsFor: ["xs1", "xs2"] });
  });
  afterAll(async () => {
    await w?.close();
  });

  /** Holds `method` on `host` a moment, and once the call is held makes every pool read on `readers` fail. */
  async function failReadsOnceSent(host: string, method: string, readers: string[]): Promise<void> {
    w.sim.control.setFault(host, { method, delayMs: 30_000 });
    await w.sim.control.waitFor((s) => s.hosts.find((h) => h.name === host)?.faults === 0, 20_000);
    for (const r of readers) w.sim.control.setFault(r, failedRead);
  }

  it("DesignateNewMaster answers UNAVAILABLE without a XenAPI code; designating again confirms the new master", async () => {
    await w.agent("xs2").client.joinPool({ masterAddress: xs1 });
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
