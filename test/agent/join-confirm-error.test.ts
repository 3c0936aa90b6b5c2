/**
 * A join that XenServer accepted, whose confirmation then reads a XenAPI error from the master (the
 * fault campaign, seed 675439817): JoinPool must not answer with that XenAPI code, which tells the
 * controller the join was refused and makes it drop the joining host from its record although the
 * host joined. It answers UNAVAILABLE (the step runs again), and a second JoinPool confirms the join.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { xapiErrorOf } from "../../shared/errors.js";
import { expectRpcError } from "../support/rpc-errors.js";
import { startAgentWorld, type AgentWorld } from "./agent-harness.js";

const xs1 = "127.0.7.130";

describe("JoinPool whose confirmation reads a XenAPI error after the join was accepted", () => {
  let w: AgentWorld;

  beforeAll(async () => {
    w = await startAgentWorld({ sim: { hosts: 2, baseAddress: xs1 }, agentsFor: ["xs1", "xs2"] });
  });
  afterAll(async () => {
    await w?.close();
  });

  it("answers UNAVAILABLE without a XenAPI code, and joining again confirms the membership", async () => {
    // Every pool read on the master fails; pool.join itself (on xs2, logging in to xs1) does not read it.
    w.sim.control.setFault("xs1", { method: "host.get_all_records", error: ["INTERNAL_ERROR", "read failed"], count: 100_000 });
    const err = await expectRpcError(w.agent("xs2").client.joinPool({ masterAddress: xs1 }), Code.Unavailable);
    expect(err.rawMessage).toMatch(/pool\.join was sent; then .*INTERNAL_ERROR \[read failed\]/);
    expect(xapiErrorOf(err)).toBeUndefined();
    // The join happened: xs2 follows xs1.
    await w.sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs2" && h.role === "slave" && h.master === "xs1" && h.connected), 20_000);

    w.sim.control.clearFaults("xs1");
    const pool = await w.agent("xs2").client.joinPool({ masterAddress: xs1 });
    expect(pool.members.map((m) => m.uuid)).toContain(w.host("xs2").uuid);
  });
});
