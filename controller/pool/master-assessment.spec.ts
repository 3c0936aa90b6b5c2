import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { HostInfoSchema, HostRole } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import type { HostRecord } from "../model/records.js";
import { classifyMember, describeEvidence, heartbeatEvidence, isUnreachable, verdictOf, type MasterProbe, type MemberReport } from "./master-assessment.js";

const interval = 10_000;
const t0 = Date.parse("2024-06-01T12:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();

const makeHost = (over: Partial<HostRecord> = {}): HostRecord => ({
  name: "master-1",
  uuid: "m-uuid",
  xapiAddress: "10.0.0.1",
  agentEndpoint: "http://10.0.0.1:7000",
  azHint: null,
  enabled: true,
  aggregateId: 1,
  membership: "MEMBER",
  capacity: null,
  poolFacts: null,
  liveness: "ALIVE",
  lastHeartbeatAt: iso(t0),
  registeredAt: iso(t0 - 3_600_000),
  maintenance: "NONE",
  statusReason: null,
  ...over,
});

describe("heartbeatEvidence", () => {
  it("is up for a recent heartbeat from an ALIVE host", () => {
    expect(heartbeatEvidence(makeHost(), interval, t0 + interval)).toStrictEqual({ down: false, detail: "heartbeats report it alive" });
  });

  it("is not down by silence at exactly three intervals", () => {
    expect(heartbeatEvidence(makeHost(), interval, t0 + 3 * interval).down).toBe(false);
  });

  it("is down after more than three silent intervals, saying how long", () => {
    const e = heartbeatEvidence(makeHost(), interval, t0 + 3 * interval + 500);
    expect(e).toStrictEqual({ down: true, detail: "no heartbeat for 30.5 s" });
  });

  it("counts silence from registration when the host never sent a heartbeat", () => {
    const h = makeHost({ lastHeartbeatAt: null, registeredAt: iso(t0) });
    expect(heartbeatEvidence(h, interval, t0 + interval).down).toBe(false);
    expect(heartbeatEvidence(h, interval, t0 + 4 * interval)).toStrictEqual({ down: true, detail: "no heartbeat for 40.0 s" });
  });

  it("is down for a host whose liveness is FAILED or UNREACHABLE, even with a recent heartbeat", () => {
    for (const liveness of ["FAILED", "UNREACHABLE"] as const) {
      expect(heartbeatEvidence(makeHost({ liveness }), interval, t0 + 1)).toStrictEqual({ down: true, detail: `liveness ${liveness}` });
    }
  });

  it("is down when the agent reports its XAPI unreachable (liveness or pool facts)", () => {
    const byLiveness = heartbeatEvidence(makeHost({ liveness: "XAPI_UNREACHABLE" }), interval, t0 + 1);
    expect(byLiveness).toStrictEqual({ down: true, detail: "its agent reports its XAPI unreachable" });
    const facts = { hostUuid: "m-uuid", poolUuid: "p", poolName: "pool", masterAddress: "10.0.0.1", role: "MASTER" as const, xapiReachable: false, emergencyMode: false };
    expect(heartbeatEvidence(makeHost({ poolFacts: facts }), interval, t0 + 1)).toStrictEqual({ down: true, detail: "its agent reports its XAPI unreachable" });
    expect(heartbeatEvidence(makeHost({ poolFacts: { ...facts, xapiReachable: true } }), interval, t0 + 1).down).toBe(false);
  });

  it("scales with the heartbeat interval", () => {
    const now = t0 + 25_000;
    expect(heartbeatEvidence(makeHost(), 10_000, now).down).toBe(false);
    expect(heartbeatEvidence(makeHost(), 5_000, now).down).toBe(true);
  });
});

const info = (over: Parameters<typeof create<typeof HostInfoSchema>>[1] = {}) =>
  create(HostInfoSchema, { name: "m2", poolUuid: "pool-1", masterAddress: "10.0.0.1", role: HostRole.SLAVE, ...over });

describe("classifyMember", () => {
  it("a member in emergency mode confirms the master is unreachable", () => {
    const i = info({ emergencyMode: true, poolUuid: "" });
    const r = classifyMember("m2", i, "pool-1");
    expect(r).toMatchObject({ host: "m2", view: "confirms", promoted: false });
    expect(r.info).toBe(i);
    expect(r.detail).toContain("emergency mode");
    expect(r.detail).toContain("10.0.0.1");
  });

  it("emergency mode confirms whatever role the member reports", () => {
    for (const role of [HostRole.MASTER, HostRole.SLAVE, HostRole.UNSPECIFIED]) {
      expect(classifyMember("m2", info({ emergencyMode: true, role, poolUuid: "other" }), "pool-1").view).toBe("confirms");
    }
  });

  it("a slave that reads the pool through its master reaches it", () => {
    const r = classifyMember("m2", info(), "pool-1");
    expect(r).toMatchObject({ view: "reaches", promoted: false });
    expect(r.detail).toContain("10.0.0.1");
  });

  it("a slave that cannot read the pool confirms", () => {
    const r = classifyMember("m2", info({ poolUuid: "" }), "pool-1");
    expect(r).toMatchObject({ view: "confirms", promoted: false });
    expect(r.detail).toContain("cannot read the pool");
  });

  it("a member that is already master of this pool confirms and is marked promoted", () => {
    const r = classifyMember("m2", info({ role: HostRole.MASTER }), "pool-1");
    expect(r).toMatchObject({ view: "confirms", promoted: true });
  });

  it("a member that is master of another pool, or when the pool is not known, tells nothing", () => {
    expect(classifyMember("m2", info({ role: HostRole.MASTER, poolUuid: "pool-2" }), "pool-1")).toMatchObject({ view: "unknown", promoted: false });
    expect(classifyMember("m2", info({ role: HostRole.MASTER }), null)).toMatchObject({ view: "unknown", promoted: false });
    expect(classifyMember("m2", info({ role: HostRole.MASTER, poolUuid: "" }), "")).toMatchObject({ view: "unknown", promoted: false });
  });

  it("a member with an unspecified role tells nothing", () => {
    expect(classifyMember("m2", info({ role: HostRole.UNSPECIFIED }), "pool-1")).toMatchObject({ view: "unknown", promoted: false });
  });
});

const probe = (over: Partial<MasterProbe> = {}): MasterProbe => ({
  master: makeHost(),
  answers: false,
  detail: "agent or XAPI unreachable (connect ECONNREFUSED)",
  heartbeatDown: true,
  heartbeatDetail: "no heartbeat for 31.0 s",
  ...over,
});
const report = (host: string, view: MemberReport["view"]): MemberReport => ({ host, view, detail: `${host} says ${view}`, promoted: false });

describe("verdictOf", () => {
  it("is healthy when the master answers, whatever the heartbeats and members say", () => {
    expect(verdictOf(probe({ answers: true }))).toBe("healthy");
    expect(verdictOf(probe({ answers: true }), [report("m2", "confirms")])).toBe("healthy");
  });

  it("is healthy when the master does not answer but its heartbeats are fine", () => {
    expect(verdictOf(probe({ heartbeatDown: false }))).toBe("healthy");
    expect(verdictOf(probe({ heartbeatDown: false }), [report("m2", "confirms")])).toBe("healthy");
  });

  it("is suspect when the master is down from the controller and members were not asked", () => {
    expect(verdictOf(probe())).toBe("suspect");
  });

  it("is a partition when any member still reaches the master, even if others confirm", () => {
    expect(verdictOf(probe(), [report("m2", "reaches")])).toBe("partition");
    expect(verdictOf(probe(), [report("m2", "confirms"), report("m3", "reaches")])).toBe("partition");
  });

  it("is failed when a member confirms and none reaches the master", () => {
    expect(verdictOf(probe(), [report("m2", "confirms")])).toBe("failed");
    expect(verdictOf(probe(), [report("m2", "unknown"), report("m3", "confirms")])).toBe("failed");
  });

  it("is unconfirmed when members were asked but none confirms or reaches", () => {
    expect(verdictOf(probe(), [report("m2", "unknown")])).toBe("unconfirmed");
    expect(verdictOf(probe(), [])).toBe("unconfirmed");
  });
});

describe("describeEvidence", () => {
  it("names the master, what it answered and its heartbeats", () => {
    expect(describeEvidence(probe())).toBe("master-1: agent or XAPI unreachable (connect ECONNREFUSED); heartbeats: no heartbeat for 31.0 s");
  });

  it("adds every member's detail when members were asked", () => {
    expect(describeEvidence(probe(), [report("m2", "confirms"), report("m3", "unknown")])).toBe(
      "master-1: agent or XAPI unreachable (connect ECONNREFUSED); heartbeats: no heartbeat for 31.0 s; members: m2 says confirms; m3 says unknown",
    );
  });

  it("adds nothing for an empty list of members", () => {
    expect(describeEvidence(probe(), [])).toBe(describeEvidence(probe()));
  });
});

describe("isUnreachable", () => {
  it("is true for the codes that mean the call got no answer", () => {
    for (const code of [Code.Unavailable, Code.DeadlineExceeded, Code.Canceled]) expect(isUnreachable(new ConnectError("x", code))).toBe(true);
  });

  it("is false for an answer that refuses", () => {
    for (const code of [Code.FailedPrecondition, Code.Internal, Code.NotFound, Code.PermissionDenied, Code.Unauthenticated, Code.Aborted, Code.Unknown]) {
      expect(isUnreachable(new ConnectError("x", code))).toBe(false);
    }
  });

  it("is false for anything that is not a ConnectError", () => {
    expect(isUnreachable(new Error("connect ECONNREFUSED"))).toBe(false);
    expect(isUnreachable("unavailable")).toBe(false);
    expect(isUnreachable(undefined)).toBe(false);
    expect(isUnreachable({ code: Code.Unavailable })).toBe(false);
  });
});
