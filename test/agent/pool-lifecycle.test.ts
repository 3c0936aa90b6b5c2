/** PoolAgentService pool calls against the simulator: init, join (through the restart), designate, enable, list, eject, clear. */
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HostRole } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import { xapiErrorOf } from "../../shared/errors.js";
import { expectInvalidField, expectRpcError } from "../support/rpc-errors.js";
import { clientFor } from "../simulator/helpers.js";
import { eventually, startAgentWorld, xapiPassword, type AgentWorld } from "./agent-harness.js";

let w: AgentWorld;
const client = (name: string) => w.agent(name).client;
const uuidOf = (name: string) => w.host(name).uuid;
const master = "127.0.0.140";

beforeAll(async () => {
  w = await startAgentWorld({ sim: { hosts: 4, baseAddress: master } });
  w.sim.control.addVms("xs4", { count: 1, memoryMiB: 1024 });
});
afterAll(async () => {
  await w?.close();
});

describe("pool lifecycle through the agents", () => {
  it("InitPool names the standalone host's pool and validates the name", async () => {
    const pool = await client("xs1").initPool({ name: "agg-one" });
    expect(pool.name).toBe("agg-one");
    expect(pool.masterAddress).toBe(master);
    expect(w.host("xs1").poolName).toBe("agg-one");
    await expectInvalidField(client("xs1").initPool({ name: "" }), "name");
  });

  it("JoinPool joins through the toolstack restart and confirms the host is a live member", async () => {
    const epochBefore = w.agent("xs2").agent.stats().xapiEpoch;
    const pool = await client("xs2").joinPool({ masterAddress: master });

    expect(pool.masterAddress).toBe(master);
    expect(pool.name).toBe("agg-one");
    const member = pool.members.find((m) => m.uuid === uuidOf("xs2"));
    expect(member, "xs2 in the returned pool").toBeDefined();
    expect(member!.live).toBe(true);
    expect(member!.master).toBe(false);
    // It returned after the restart: the simulator has xs2 up as a connected slave of xs1.
    const xs2 = w.host("xs2");
    expect([xs2.role, xs2.toolstack, xs2.connected, xs2.restartPending, xs2.master]).toEqual(["slave", "up", true, false, "xs1"]);
    // And the agent saw its endpoint go away and come back in between.
    expect(w.agent("xs2").agent.stats().xapiEpoch).toBeGreaterThan(epochBefore);

    const info = await client("xs2").getHostInfo({});
    expect(info.role).toBe(HostRole.SLAVE);
    expect(info.masterAddress).toBe(master);
    expect(info.poolUuid).toBe(w.host("xs1").poolUuid);
  });

  it("JoinPool is idempotent: already a member of that master's pool succeeds without acting", async () => {
    const epochBefore = w.agent("xs2").agent.stats().xapiEpoch;
    const pool = await client("xs2").joinPool({ masterAddress: master });
    expect(pool.members.map((m) => m.uuid)).toContain(uuidOf("xs2"));
    expect(w.host("xs2").restartPending).toBe(false);
    expect(w.agent("xs2").agent.stats().xapiEpoch).toBe(epochBefore);
  });

  it("a XenAPI refusal reaches the caller with its code and parameters", async () => {
    const err = await expectRpcError(client("xs4").joinPool({ masterAddress: master }), Code.FailedPrecondition);
    expect(xapiErrorOf(err)).toEqual({ code: "JOINING_HOST_CANNOT_HAVE_RUNNING_VMS", params: [] });
    expect(err.rawMessage).toContain("JoinPool");
    expect(w.host("xs4").role).toBe("master");
  });

  it("DesignateNewMaster waits until the new master answers, and is a no-op when already master", async () => {
    await client("xs3").joinPool({ masterAddress: master });
    const pool = await client("xs1").designateNewMaster({ hostUuid: uuidOf("xs2") });
    expect(pool.masterUuid).toBe(uuidOf("xs2"));
    expect(pool.masterAddress).toBe("127.0.0.141");
    const state = w.sim.control.state();
    const role = (n: string) => state.hosts.find((h) => h.name === n)!;
    expect([role("xs2").role, role("xs2").toolstack]).toEqual(["master", "up"]);
    expect([role("xs1").role, role("xs1").master, role("xs1").toolstack]).toEqual(["slave", "xs2", "up"]);

    const epochBefore = w.agent("xs1").agent.stats().xapiEpoch;
    const again = await client("xs3").designateNewMaster({ hostUuid: uuidOf("xs2") });
    expect(again.masterUuid).toBe(uuidOf("xs2"));
    expect(w.host("xs2").restartPending).toBe(false);
    expect(w.agent("xs1").agent.stats().xapiEpoch).toBe(epochBefore);
    await expectRpcError(client("xs1").designateNewMaster({ hostUuid: "no-such-host" }), Code.NotFound);
  });

  it("SetHostEnabled disables and enables a member through the master", async () => {
    const off = await client("xs1").setHostEnabled({ hostUuid: uuidOf("xs3"), enabled: false });
    expect([off.uuid, off.enabled]).toEqual([uuidOf("xs3"), false]);
    expect(w.host("xs3").enabled).toBe(false);
    const on = await client("xs3").setHostEnabled({ hostUuid: "", enabled: true });
    expect([on.uuid, on.enabled]).toEqual([uuidOf("xs3"), true]);
    expect(w.host("xs3").enabled).toBe(true);
  });

  it("SetHostEnabled false disables for good a host already disabled with auto_enable=true", async () => {
    // Disabled behind the agent's back with the default auto_enable=true: a toolstack restart would enable it.
    const xapi = clientFor(w.sim, w.host("xs3").master!);
    await xapi.login("root", xapiPassword);
    await xapi.ok("host.disable", await xapi.ok<string>("host.get_by_uuid", uuidOf("xs3")));
    expect(w.host("xs3").enabled).toBe(false);
    await client("xs1").setHostEnabled({ hostUuid: uuidOf("xs3"), enabled: false });
    await w.sim.control.restartToolstack("xs3");
    await w.sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs3" && h.toolstack === "up" && h.connected), 20_000);
    expect(w.host("xs3").enabled).toBe(false);
    await client("xs1").setHostEnabled({ hostUuid: uuidOf("xs3"), enabled: true });
    expect(w.host("xs3").enabled).toBe(true);
  });

  it("ListVms lists the pool's guests, per host, and with system VMs on request", async () => {
    const vms = w.sim.control.addVms("xs3", { count: 2, memoryMiB: 2048 });
    const all = await client("xs1").listVms({});
    expect(all.vms.map((v) => v.uuid)).toEqual(expect.arrayContaining(vms.map((v) => v.uuid)));
    expect(all.vms.every((v) => !v.isControlDomain && !v.isTemplate)).toBe(true);
    const onXs3 = await client("xs1").listVms({ hostUuid: uuidOf("xs3") });
    expect(onXs3.vms.map((v) => v.uuid).sort()).toEqual(vms.map((v) => v.uuid).sort());
    expect(onXs3.vms[0]).toMatchObject({ powerState: "Running", residentHostUuid: uuidOf("xs3"), memoryBytes: 2048n << 20n, canMigrate: true });
    const system = await client("xs1").listVms({ includeSystem: true });
    expect(system.vms.filter((v) => v.isControlDomain)).toHaveLength(3);
  });

  it("EjectHost refuses while VMs run, then ejects and waits until the host is gone; idempotent", async () => {
    const busy = await expectRpcError(client("xs1").ejectHost({ hostUuid: uuidOf("xs3") }), Code.FailedPrecondition);
    expect(xapiErrorOf(busy)).toEqual({ code: "OPERATION_NOT_ALLOWED", params: ["VM resident on host"] });

    for (const vm of w.sim.control.state().vms.filter((v) => v.residentOn === "xs3")) {
      for await (const _ of client("xs1").migrateVm({ vmUuid: vm.uuid, targetHostUuid: uuidOf("xs2") })) void _;
    }
    const pool = await client("xs1").ejectHost({ hostUuid: uuidOf("xs3") });
    expect(pool.members.map((m) => m.uuid)).not.toContain(uuidOf("xs3"));
    expect(w.sim.control.state().pools.find((p) => p.master === "xs2")?.hosts).not.toContain("xs3");

    const again = await client("xs2").ejectHost({ hostUuid: uuidOf("xs3") });
    expect(again.members.map((m) => m.uuid).sort()).toEqual([uuidOf("xs1"), uuidOf("xs2")].sort());

    const master = await expectRpcError(client("xs1").ejectHost({ hostUuid: uuidOf("xs2") }), Code.FailedPrecondition);
    expect(xapiErrorOf(master)?.code).toBe("INTERNAL_ERROR");
  });

  it("ClearPool clears the name; InitPool on a slave is refused", async () => {
    await expectRpcError(client("xs1").initPool({ name: "other" }), Code.FailedPrecondition);
    const cleared = await client("xs2").clearPool({});
    expect(cleared.name).toBe("");
    expect(w.host("xs2").poolName).toBe("");
  });

  it("a wait that cannot finish in time is DEADLINE_EXCEEDED, and a retry completes the join", async () => {
    // xs3 was ejected: it reboots and comes back as a fresh standalone host.
    await w.sim.control.waitFor((s) => {
      const xs3 = s.hosts.find((h) => h.name === "xs3");
      return xs3?.role === "master" && xs3.toolstack === "up" && !xs3.restartPending;
    }, 10_000);
    const hasty = await w.addAgent("xs3", { hostName: "xs3-hasty", timings: { joinTimeoutMs: 150 } });
    const err = await expectRpcError(hasty.client.joinPool({ masterAddress: "127.0.0.141" }), Code.DeadlineExceeded);
    expect(err.rawMessage).toMatch(/timed out after \d+ ms waiting for xs3-hasty to restart as a slave of 127.0.0.141/);
    // The join itself went ahead; a retry (UNAVAILABLE while xs3 restarts) confirms the membership.
    const pool = await eventually("a retried JoinPool to succeed", () => client("xs3").joinPool({ masterAddress: "127.0.0.141" }).catch(() => undefined));
    expect(pool.members.find((m) => m.uuid === uuidOf("xs3"))?.live).toBe(true);
    expect(w.host("xs3").master).toBe("xs2");
  });
});
