/** The reconciler's pure findings: enabled-flag drift (enabled-drift.ts) and stale followers (stale-followers.ts). */
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { PoolInfoSchema } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import type { ControllerContext } from "../context.js";
import type { AggregateRecord, HostRecord } from "../model/records.js";
import { enabledDrifts } from "./enabled-drift.js";
import { staleFollowers } from "./stale-followers.js";

const host = (name: string, over: Partial<HostRecord> = {}): HostRecord => ({
  name,
  uuid: `uuid-${name}`,
  xapiAddress: `10.0.0.${name.slice(-1)}`,
  agentEndpoint: "127.0.0.1:1",
  azHint: null,
  enabled: true,
  aggregateId: 1,
  membership: "MEMBER",
  capacity: null,
  poolFacts: null,
  liveness: "ALIVE",
  lastHeartbeatAt: new Date().toISOString(),
  registeredAt: new Date().toISOString(),
  maintenance: "NONE",
  statusReason: null,
  ...over,
});

const pool = (members: { name: string; enabled: boolean; live?: boolean; master?: boolean }[]) =>
  create(PoolInfoSchema, {
    members: members.map((m) => ({ uuid: `uuid-${m.name}`, name: m.name, address: `10.0.0.${m.name.slice(-1)}`, enabled: m.enabled, live: m.live ?? true, master: m.master ?? false })),
  });

describe("enabledDrifts", () => {
  it("wants a host disabled in XenServer when the record says disabled, in maintenance or FAILED", () => {
    const hosts = [host("h1", { enabled: false }), host("h2", { enabled: false, maintenance: "IN_MAINTENANCE" }), host("h3", { membership: "FAILED", enabled: false })];
    const found = enabledDrifts(hosts, pool([{ name: "h1", enabled: true }, { name: "h2", enabled: true }, { name: "h3", enabled: true }]));
    expect(found.map((d) => [d.host.name, d.want])).toEqual([["h1", false], ["h2", false], ["h3", false]]);
    expect(found[1]!.finding).toBe("host h2 is enabled in XenServer but the record says it takes no VMs (it is in maintenance (IN_MAINTENANCE))");
    expect(found[2]!.finding).toMatch(/FAILED former pool master/);
  });

  it("wants an enabled member out of maintenance enabled; never enables a FAILED host", () => {
    const found = enabledDrifts([host("h1"), host("h2", { membership: "FAILED", enabled: false })], pool([{ name: "h1", enabled: false }, { name: "h2", enabled: false }]));
    expect(found.map((d) => [d.host.name, d.want])).toEqual([["h1", true]]);
    expect(found[0]!.finding).toBe("host h1 is disabled in XenServer but the record says it is in service");
  });

  it("leaves hosts that are not live, not in the pool, or joining or leaving", () => {
    const hosts = [host("h1", { enabled: false }), host("h2", { enabled: false }), host("h3", { enabled: false, membership: "JOINING" }), host("h4", { enabled: false, membership: "LEAVING" })];
    const found = enabledDrifts(hosts, pool([{ name: "h1", enabled: true, live: false }, { name: "h3", enabled: true }, { name: "h4", enabled: true }]));
    expect(found).toEqual([]);
  });
});

describe("staleFollowers", () => {
  const ctx = { heartbeatIntervalMs: 10_000 } as ControllerContext;
  const aggregate = { id: 1, masterHost: "h1" } as AggregateRecord;
  const facts = (masterAddress: string, extra: Partial<NonNullable<HostRecord["poolFacts"]>> = {}) => ({
    hostUuid: "",
    poolUuid: "p",
    poolName: "",
    masterAddress,
    role: "SLAVE" as const,
    xapiReachable: true,
    emergencyMode: false,
    ...extra,
  });
  const view = pool([{ name: "h1", enabled: true, master: true }, { name: "h2", enabled: true }, { name: "h3", enabled: true }]);

  it("finds a member whose fresh report says it follows another master", () => {
    const hosts = [host("h1"), host("h2", { poolFacts: facts("10.0.0.9") }), host("h3", { poolFacts: facts("10.0.0.1") })];
    const found = staleFollowers(ctx, aggregate, hosts, view);
    expect(found.map((f) => f.host.name)).toEqual(["h2"]);
    expect(found[0]!.finding).toBe("host h2 follows 10.0.0.9, not the pool master h1 (10.0.0.1)");
  });

  it("ignores stale heartbeats, emergency mode (the detector's), unknown masters, non-members, and a pool whose master is not the recorded one", () => {
    const old = new Date(Date.now() - 60_000).toISOString();
    const hosts = [
      host("h1"),
      host("h2", { poolFacts: facts("10.0.0.9"), lastHeartbeatAt: old }),
      host("h3", { poolFacts: facts("10.0.0.9", { emergencyMode: true }) }),
      host("h4", { poolFacts: facts("") }),
      host("h5", { poolFacts: facts("10.0.0.9"), membership: "FAILED" }),
    ];
    expect(staleFollowers(ctx, aggregate, hosts, view)).toEqual([]);
    const otherMaster = pool([{ name: "h1", enabled: true }, { name: "h2", enabled: true, master: true }]);
    expect(staleFollowers(ctx, aggregate, [host("h1"), host("h3", { poolFacts: facts("10.0.0.9") })], otherMaster)).toEqual([]);
  });
});
