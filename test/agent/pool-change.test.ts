/**
 * The agent's own host changes pool while the master it followed stays alive: pool-level calls
 * must act on the pool the host is in now, not on the old master's pool.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HostRole } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import { createLogger } from "../../shared/logging.js";
import { resolveTimings } from "../../agent/config.js";
import type { AgentContext } from "../../agent/service/agent-context.js";
import { getPoolInfo } from "../../agent/service/read-calls.js";
import { readPool } from "../../agent/service/pool-snapshot.js";
import { XapiClient } from "../../agent/xapi/client.js";
import { XapiCredentials } from "../../agent/xapi/credentials.js";
import { eventually, startAgentWorld, xapiPassword, type AgentWorld } from "./agent-harness.js";

const [xs1, xs2] = ["127.0.0.200", "127.0.0.201"];

/** Waits until the simulator shows the host up as a standalone master again (after its eject reboot). */
async function standaloneAgain(w: AgentWorld, name: string): Promise<void> {
  await w.sim.control.waitFor((s) => {
    const h = s.hosts.find((x) => x.name === name);
    return h?.role === "master" && h.toolstack === "up" && !h.restartPending;
  }, 15_000);
}

describe("after the own host was ejected from the pool it followed", () => {
  let w: AgentWorld;
  const client = (name: string) => w.agent(name).client;
  const uuidOf = (name: string) => w.host(name).uuid;

  beforeAll(async () => {
    w = await startAgentWorld({ sim: { hosts: 3, baseAddress: xs1 }, heartbeatIntervalMs: 200 });
    await client("xs2").joinPool({ masterAddress: xs1 });
    await client("xs3").joinPool({ masterAddress: xs1 });
  });
  afterAll(async () => {
    await w?.close();
  });

  it("GetPoolInfo, ListVms and SetHostEnabled act on the host's fresh pool, not the old master's", async () => {
    // xs1 hands the master role to xs2, so xs1's agent follows HOST_IS_SLAVE to xs2.
    await client("xs1").designateNewMaster({ hostUuid: uuidOf("xs2") });
    const followed = await client("xs1").getPoolInfo({});
    expect([followed.masterAddress, followed.members.length]).toEqual([xs2, 3]);

    // xs2 (alive throughout) ejects xs1; xs1 reboots as the master of a fresh pool, same host uuid.
    const after = await client("xs2").ejectHost({ hostUuid: uuidOf("xs1") });
    expect(after.members.map((m) => m.uuid)).not.toContain(uuidOf("xs1"));
    await standaloneAgain(w, "xs1");
    const freshPool = w.host("xs1").poolUuid;
    expect(freshPool).not.toBe(w.host("xs2").poolUuid);

    const pool = await client("xs1").getPoolInfo({});
    expect([pool.uuid, pool.masterUuid, pool.masterAddress]).toEqual([freshPool, uuidOf("xs1"), xs1]);
    expect(pool.members.map((m) => m.uuid)).toEqual([uuidOf("xs1")]);

    const [vm] = w.sim.control.addVms("xs1", { count: 1, memoryMiB: 1024 });
    const vms = await client("xs1").listVms({ hostUuid: uuidOf("xs1") });
    expect(vms.vms.map((v) => v.uuid)).toEqual([vm!.uuid]);

    const off = await client("xs1").setHostEnabled({ hostUuid: "", enabled: false });
    expect([off.uuid, off.poolUuid, off.role, off.enabled]).toEqual([uuidOf("xs1"), freshPool, HostRole.MASTER, false]);
    expect(w.host("xs1").enabled).toBe(false);
    await client("xs1").setHostEnabled({ hostUuid: "", enabled: true });

    const named = await client("xs1").initPool({ name: "fresh" });
    expect([named.uuid, named.name]).toEqual([freshPool, "fresh"]);
    // The old pool is untouched.
    expect(w.sim.control.state().pools.find((p) => p.master === "xs2")?.hosts.sort()).toEqual(["xs2", "xs3"]);
    await eventually("the controller to see xs1 in its fresh pool", async () => (await w.controller.hosts.getHost({ name: "xs1" })).pool?.poolUuid === freshPool);
  });
});

describe("the pool session of a client that never noticed its own host restart", () => {
  let w: AgentWorld;
  const clients: XapiClient[] = [];
  const uuidOf = (name: string) => w.host(name).uuid;
  const clientFor = (name: string) => {
    const x = new XapiClient({
      url: new URL(w.sim.hosts.find((h) => h.name === name)!.url),
      credentials: new XapiCredentials("root", xapiPassword),
      callTimeoutMs: 2_000,
      retryDelayMs: 20,
    });
    clients.push(x);
    return x;
  };
  const contextFor = (xapi: XapiClient, name: string): AgentContext => ({
    xapi,
    credentials: xapi.options.credentials,
    hostName: name,
    timings: resolveTimings({ pollIntervalMs: 25, callTimeoutMs: 2_000 }),
    identity: { uuid: uuidOf(name) },
    log: createLogger("agent", { level: "error", sink: () => undefined }),
  });

  beforeAll(async () => {
    w = await startAgentWorld({ sim: { hosts: 2, baseAddress: "127.0.0.205" }, agentsFor: ["xs1", "xs2"] });
    await w.agent("xs2").client.joinPool({ masterAddress: "127.0.0.205" });
  });
  afterAll(async () => {
    await Promise.all(clients.map((x) => x.close()));
    await w?.close();
  });

  it("treats a pool view without its own host as stale; a restart or changed answer of the own host repoints it", async () => {
    // Three clients of xs2 that follow HOST_IS_SLAVE to xs1; `unaware` never talks to its own host again.
    const unaware = clientFor("xs2");
    const watching = clientFor("xs2");
    const restartAware = clientFor("xs2");
    const home = restartAware.options.url;
    const ctx = contextFor(unaware, "xs2");
    const before = await getPoolInfo(ctx, new AbortController().signal);
    expect(before.members?.map((m) => m.uuid)).toContain(uuidOf("xs2"));
    expect(unaware.pool.endpoint.hostname).toBe("127.0.0.205");
    expect(await watching.homeState()).toEqual({ kind: "slave", masterAddress: "127.0.0.205" });
    for (const x of [watching, restartAware]) {
      expect((await readPool(x.pool)).hosts).toHaveLength(2);
      expect(x.pool.endpoint.hostname).toBe("127.0.0.205");
    }
    const epoch = restartAware.monitor.epoch;

    await w.agent("xs1").client.ejectHost({ hostUuid: uuidOf("xs2") });
    await w.sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs2")?.toolstack === "down", 10_000);
    expect((await restartAware.endpointState(home)).kind).toBe("unreachable");
    await standaloneAgain(w, "xs2");
    const freshPool = w.host("xs2").poolUuid;

    // Its own endpoint came back (a restart): the pool session goes back home.
    expect((await restartAware.endpointState(home)).kind).toBe("master");
    expect(restartAware.monitor.epoch).toBeGreaterThan(epoch);
    expect(restartAware.pool.endpoint.hostname).toBe("127.0.0.206");
    expect((await readPool(restartAware.pool)).pool.uuid).toBe(freshPool);

    // Its own host now answers as a master instead of a slave of xs1: the pool session goes back home.
    expect((await watching.homeState()).kind).toBe("master");
    expect(watching.pool.endpoint.hostname).toBe("127.0.0.206");
    expect((await readPool(watching.pool)).pool.uuid).toBe(freshPool);

    // The other client noticed nothing: xs1's pool view, which lacks xs2, is recognised as stale.
    const now = await getPoolInfo(ctx, new AbortController().signal);
    expect([now.uuid, now.masterUuid, now.members?.map((m) => m.uuid)]).toEqual([freshPool, uuidOf("xs2"), [uuidOf("xs2")]]);
    expect(unaware.pool.endpoint.hostname).toBe("127.0.0.206");
  });
});
