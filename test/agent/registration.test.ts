/** Registration and heartbeats with the real controller; XAPI outages; controller outages and re-registration. */
import { createServer } from "node:net";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HostRole } from "../../gen/hostaggregates/v1/host_pb.js";
import { startTestController } from "../support/controller-harness.js";
import { expectRpcError } from "../support/rpc-errors.js";
import { eventually, startAgentWorld, type AgentWorld } from "./agent-harness.js";

let w: AgentWorld;
const getHost = (name: string) => w.controller.hosts.getHost({ name });

beforeAll(async () => {
  w = await startAgentWorld({ sim: { hosts: 3, baseAddress: "127.0.0.130" }, heartbeatIntervalMs: 200 });
});
afterAll(async () => {
  await w?.close();
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const port = (probe.address() as { port: number }).port;
      probe.close(() => resolve(port));
    });
  });
}

describe("registration", () => {
  it("registers each host disabled with its endpoint, capacity and pool facts", async () => {
    const host = await eventually("xs1 to register", () => getHost("xs1").catch(() => undefined));
    const sim = w.host("xs1");
    expect(host.enabled).toBe(false);
    expect(host.agentEndpoint).toBe(w.agent("xs1").agent.endpoint);
    expect([host.xapiAddress, host.availabilityZoneHint]).toEqual(["127.0.0.130", "az1"]);
    expect(host.pool).toMatchObject({ hostUuid: sim.uuid, poolUuid: sim.poolUuid, role: HostRole.MASTER, masterAddress: "127.0.0.130", xapiReachable: true, emergencyMode: false });
    expect(host.capacity).toMatchObject({ memoryTotalBytes: BigInt(sim.memoryTotalBytes), runningVms: 0, cpuVendor: "GenuineIntel" });
  });

  it("heartbeats bring fresh capacity", async () => {
    const before = (await getHost("xs2")).capacity!;
    w.sim.control.addVms("xs2", { count: 2, memoryMiB: 4096 });
    const after = await eventually("the heartbeat to report the new VMs", async () => {
      const capacity = (await getHost("xs2")).capacity!;
      return capacity.runningVms === 2 ? capacity : undefined;
    });
    expect(after.memoryFreeBytes).toBe(BigInt(w.host("xs2").memoryFreeBytes));
    expect(before.memoryFreeBytes - after.memoryFreeBytes).toBeGreaterThanOrEqual(8n << 30n);
    expect(w.agent("xs2").agent.stats().heartbeats).toBeGreaterThan(0);
  });

  it("an unreachable XAPI gives UNAVAILABLE and xapi_reachable=false; the agent recovers when XAPI returns", async () => {
    await w.sim.control.power("xs3", false);
    const err = await expectRpcError(w.agent("xs3").client.getHostInfo({}), Code.Unavailable);
    expect(err.rawMessage).toContain("127.0.0.132");
    await expectRpcError(w.agent("xs3").client.getPoolInfo({}), Code.Unavailable);
    await eventually("the controller to see xs3's XAPI down", async () => (await getHost("xs3")).pool?.xapiReachable === false);

    const registrations = w.agent("xs3").agent.stats().registrations;
    await w.sim.control.power("xs3", true);
    const info = await eventually("xs3's XAPI to answer again", () => w.agent("xs3").client.getHostInfo({}).catch(() => undefined), 10_000);
    expect(info.uuid).toBe(w.host("xs3").uuid);
    // The toolstack came back: the agent registered again. The agent counts a registration when the
    // controller's answer reaches it, which may be after the controller already shows the new facts
    // (GetHost of a host in no aggregate answers from the record, without an agent round trip).
    await eventually("xs3's agent to register again", () => w.agent("xs3").agent.stats().registrations > registrations);
    await eventually("the controller to see xs3's XAPI back", async () => (await getHost("xs3")).pool?.xapiReachable === true);
  });

  it("re-registers after a toolstack restart (sessions invalidated)", async () => {
    await eventually("xs1 to be registered", () => w.agent("xs1").agent.stats().registrations > 0);
    const { registrations, xapiEpoch } = w.agent("xs1").agent.stats();
    await w.sim.control.restartToolstack("xs1");
    await eventually("xs1's agent to register again", () => w.agent("xs1").agent.stats().registrations > registrations);
    expect(w.agent("xs1").agent.stats().xapiEpoch).toBeGreaterThan(xapiEpoch);
  });

  it("registers again when a heartbeat answers reregister (host forgotten)", async () => {
    await w.controller.hosts.forgetHost({ name: "xs2" });
    await expectRpcError(getHost("xs2"), Code.NotFound);
    const host = await eventually("xs2 to register again", () => getHost("xs2").catch(() => undefined));
    expect(host.pool?.hostUuid).toBe(w.host("xs2").uuid);
  });

  it("backs off while the controller is unreachable, keeps serving, and registers once it is up", async () => {
    const port = await freePort();
    const late = await w.addAgent("xs3", { controller: `127.0.0.1:${port}`, hostName: "xs3-late" });
    await eventually("a few failed attempts", () => late.agent.stats().failures >= 3);
    expect(late.agent.stats().registrations).toBe(0);
    expect((await late.client.getHostInfo({})).uuid).toBe(w.host("xs3").uuid);

    const controller = await startTestController({ grpcListen: `127.0.0.1:${port}`, heartbeatIntervalMs: 200 });
    try {
      await eventually("the agent to register with the new controller", () => late.agent.stats().registrations > 0, 5_000);
      const host = await controller.hosts.getHost({ name: "xs3-late" });
      expect([host.enabled, host.agentEndpoint]).toEqual([false, late.agent.endpoint]);
    } finally {
      await late.agent.close();
      await controller.close();
    }
  });
});

describe("a list of controllers (--controller A,B)", () => {
  it("registers and heartbeats through the second when the first is down, and moves when its current one dies", async () => {
    const down = `127.0.0.1:${await freePort()}`;
    const first = await w.addAgent("xs3", { controller: `${down},${w.controller.grpcEndpoint}`, hostName: "xs3-listed" });
    try {
      await eventually("the agent to register through the second endpoint", () => first.agent.stats().registrations > 0);
      const beats = first.agent.stats().heartbeats;
      await eventually("heartbeats through the second endpoint", () => first.agent.stats().heartbeats > beats + 1);
      // The first endpoint is tried once, then the live one is kept: no call failed.
      expect(first.agent.stats().failures).toBe(0);
      expect((await getHost("xs3-listed")).agentEndpoint).toBe(first.agent.endpoint);
    } finally {
      await first.agent.close();
    }

    const other = await startTestController({ heartbeatIntervalMs: 200 });
    const moving = await w.addAgent("xs3", { controller: `${other.grpcEndpoint},${w.controller.grpcEndpoint}`, hostName: "xs3-moving" });
    try {
      await eventually("the agent to register with the first endpoint", async () => (await other.hosts.getHost({ name: "xs3-moving" }).catch(() => undefined))?.agentEndpoint);
      await expectRpcError(getHost("xs3-moving"), Code.NotFound);
      await other.close();
      const host = await eventually("the agent to move to the other controller", () => getHost("xs3-moving").catch(() => undefined));
      expect(host.agentEndpoint).toBe(moving.agent.endpoint);
      const beats = moving.agent.stats().heartbeats;
      await eventually("heartbeats there", () => moving.agent.stats().heartbeats > beats + 1);
    } finally {
      await moving.agent.close();
      await other.close();
    }
  });
});

describe("a second agent under a live host's name", () => {
  // Heartbeats every 5 s: the liveness window (15 s) outlasts the whole test, so every takeover below
  // is decided by the registered endpoint answering or not, never by the window running out.
  let v: AgentWorld;
  const windowMs = 15_000;
  beforeAll(async () => {
    v = await startAgentWorld({ sim: { hosts: 1, baseAddress: "127.0.7.100" }, heartbeatIntervalMs: 5_000, agentsFor: [] });
  });
  afterAll(async () => {
    await v?.close();
  });
  const endpointOf = async () => (await v.controller.hosts.getHost({ name: "xs1" })).agentEndpoint;

  it("is refused (ALREADY_EXISTS, naming the holder) while the first heartbeats; a replacement is accepted once the first no longer answers", async () => {
    const first = await v.addAgent("xs1");
    await eventually("the first agent to register", () => first.agent.stats().registrations > 0);
    const heartbeats = first.agent.stats().heartbeats;

    const told: string[] = [];
    const second = await v.addAgent("xs1", { onRegistrationRefused: (message) => told.push(message) });
    const message = await eventually("the second agent to be refused", () => second.agent.stats().refused);
    expect(message).toContain(`host name "xs1" is held by a live agent at ${first.agent.endpoint}`);
    expect(message).toContain(`the agent at ${second.agent.endpoint} is refused`);
    expect(message).toMatch(/--host-name/);
    expect(told).toEqual([message]);
    expect(second.agent.stats().registrations).toBe(0);
    expect(v.logLines.some((l) => l.includes("registration refused") && l.includes(first.agent.endpoint))).toBe(true);
    // The record still points at the first agent, which keeps heartbeating.
    expect(await endpointOf()).toBe(first.agent.endpoint);
    await eventually("a heartbeat of the first agent", () => first.agent.stats().heartbeats > heartbeats, 12_000);
    expect(await endpointOf()).toBe(first.agent.endpoint);
    // The same refusal as the controller answers it.
    const direct = await expectRpcError(
      v.controller.registry.registerHost({ name: "xs1", xapiAddress: "127.0.7.100", agentEndpoint: "127.0.0.1:2", availabilityZoneHint: "" }),
      Code.AlreadyExists,
    );
    expect(direct.rawMessage).toContain(first.agent.endpoint);
    await second.agent.close();

    // The first stops: its heartbeat is still fresh, but nothing answers at its endpoint any more.
    await first.agent.close();
    const stoppedAt = Date.now();
    const third = await v.addAgent("xs1");
    await eventually("the replacement to take the name over", async () => (await endpointOf()) === third.agent.endpoint);
    expect(Date.now() - stoppedAt).toBeLessThan(windowMs);
    expect(third.agent.stats().refused).toBeUndefined();

    // An agent restarted on the same endpoint is always accepted (crash restarts).
    await third.agent.close();
    const restarted = await v.addAgent("xs1", { listen: third.agent.endpoint });
    await eventually("the restarted agent to register", () => restarted.agent.stats().registrations > 0);
    expect(restarted.agent.stats().refused).toBeUndefined();
    expect(await endpointOf()).toBe(third.agent.endpoint);
  }, 60_000);

  it("reports its XAPI's return at once (polling it while down), not at the next 5 s heartbeat", async () => {
    const { agent } = v.agents.get("xs1") ?? (await v.addAgent("xs1"));
    await eventually("the agent to register", () => agent.stats().registrations > 0);
    await v.sim.control.power("xs1", false);
    await eventually("a report of the XAPI down", async () => (await v.controller.hosts.getHost({ name: "xs1" })).pool?.xapiReachable === false, 15_000);
    // Power on right after a heartbeat: the next one is due ~4.4 s after the XAPI is back (boot: 600 ms).
    const beats = agent.stats().heartbeats;
    await eventually("a heartbeat while the XAPI is down", () => agent.stats().heartbeats > beats, 12_000);
    const registrations = agent.stats().registrations;
    await v.sim.control.power("xs1", true);
    await v.sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs1")?.toolstack === "up", 10_000);
    const upAt = Date.now();
    await eventually("the agent to register again", () => agent.stats().registrations > registrations, 10_000);
    const tookMs = Date.now() - upAt;
    expect(tookMs).toBeLessThan(5_000 / 4);
    expect((await v.controller.hosts.getHost({ name: "xs1" })).pool?.xapiReachable).toBe(true);
  }, 60_000);
});
