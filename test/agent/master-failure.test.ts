/** Master failure: emergency transition to master, recover slaves, fencing the old master with emergency reset. */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HostRole } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import { HostRole as RegisteredRole } from "../../gen/hostaggregates/v1/host_pb.js";
import { eventually, startAgentWorld, type AgentWorld } from "./agent-harness.js";

let w: AgentWorld;
const client = (name: string) => w.agent(name).client;
const uuidOf = (name: string) => w.host(name).uuid;
const [xs1, xs2] = ["127.0.0.160", "127.0.0.161"];

beforeAll(async () => {
  w = await startAgentWorld({ sim: { hosts: 3, baseAddress: xs1 }, heartbeatIntervalMs: 200 });
  await client("xs2").joinPool({ masterAddress: xs1 });
  await client("xs3").joinPool({ masterAddress: xs1 });
});
afterAll(async () => {
  await w?.close();
});

describe("master failure", () => {
  it("promotes a slave with EmergencyTransitionToMaster after the master died", async () => {
    await w.sim.control.power("xs1", false);
    const before = await client("xs2").getHostInfo({});
    expect([before.role, before.masterAddress, before.emergencyMode]).toEqual([HostRole.SLAVE, xs1, false]);
    // After the grace period the slaves enter emergency mode; the agents report it.
    await w.sim.control.waitFor((s) => s.hosts.filter((h) => h.emergency).length === 2, 5_000);
    const emergency = await client("xs3").getHostInfo({});
    expect([emergency.role, emergency.emergencyMode, emergency.uuid]).toEqual([HostRole.SLAVE, true, uuidOf("xs3")]);
    await eventually("the controller to see xs3 in emergency mode", async () => (await w.controller.hosts.getHost({ name: "xs3" })).pool?.emergencyMode);

    const info = await client("xs2").emergencyTransitionToMaster({});
    expect([info.role, info.uuid, info.masterAddress]).toEqual([HostRole.MASTER, uuidOf("xs2"), xs2]);
    expect([w.host("xs2").role, w.host("xs2").toolstack, w.host("xs2").restartPending]).toEqual(["master", "up", false]);

    const again = await client("xs2").emergencyTransitionToMaster({});
    expect(again.role).toBe(HostRole.MASTER);
    expect(w.host("xs2").restartPending).toBe(false);
  });

  it("RecoverSlaves repoints the reachable members at the new master and waits for them", async () => {
    const result = await client("xs2").recoverSlaves({});
    expect(result.recoveredHostUuids).toEqual([uuidOf("xs3")]);
    const xs3 = w.host("xs3");
    expect([xs3.role, xs3.master, xs3.connected, xs3.toolstack]).toEqual(["slave", "xs2", true, "up"]);
    expect(result.pool?.masterUuid).toBe(uuidOf("xs2"));
    expect(result.pool?.members.find((m) => m.uuid === uuidOf("xs3"))?.live).toBe(true);
    expect(result.pool?.members.find((m) => m.uuid === uuidOf("xs1"))?.live).toBe(false);
  });

  it("the agents re-register the new roles with the controller", async () => {
    await eventually("the controller to see xs2 as master and xs3 following it", async () => {
      const [h2, h3] = await Promise.all([w.controller.hosts.getHost({ name: "xs2" }), w.controller.hosts.getHost({ name: "xs3" })]);
      return h2.pool?.role === RegisteredRole.MASTER && h3.pool?.role === RegisteredRole.SLAVE && h3.pool?.masterAddress === xs2;
    });
  });

  it("EmergencyResetMaster fences the old master when it comes back", async () => {
    await w.sim.control.power("xs1", true);
    await w.sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs1")?.toolstack === "up");
    expect(w.host("xs1").role).toBe("master");

    const info = await client("xs1").emergencyResetMaster({ masterAddress: xs2 });
    expect([info.role, info.masterAddress, info.uuid]).toEqual([HostRole.SLAVE, xs2, uuidOf("xs1")]);
    expect([w.host("xs1").role, w.host("xs1").master, w.host("xs1").connected]).toEqual(["slave", "xs2", true]);
    const pool = await client("xs1").getPoolInfo({});
    expect(pool.members.find((m) => m.uuid === uuidOf("xs1"))?.live).toBe(true);

    const epoch = w.agent("xs1").agent.stats().xapiEpoch;
    await client("xs1").emergencyResetMaster({ masterAddress: xs2 });
    expect(w.host("xs1").restartPending).toBe(false);
    expect(w.agent("xs1").agent.stats().xapiEpoch).toBe(epoch);
  });

  it("DestroyHost refuses a live member, and answers at once for a host the pool no longer lists", async () => {
    const refused = await client("xs2").destroyHost({ hostUuid: uuidOf("xs3") }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(ConnectError);
    expect((refused as ConnectError).code).toBe(Code.FailedPrecondition);
    expect((refused as ConnectError).rawMessage).toMatch(/is live/);
    const pool = await client("xs2").destroyHost({ hostUuid: "00000000-0000-4000-8000-000000000000" });
    expect(pool.members.map((m) => m.uuid)).toContain(uuidOf("xs3"));
  });
});
