import { describe, expect, it } from "vitest";
import { checkAll, checkConflicts, checkPools, checkRolling, checkSettled, checkStandalone, checkVms, type ControllerRecord, type RunObservations } from "./invariants.js";
import type { RealHost } from "./real-pool.js";

const url = (i: number) => `http://127.0.0.${10 + i}:8080/`;
const vm = (uuid: string, residentOn: string, powerState = "Running") => ({ uuid, name: uuid, powerState, residentOn });

/** A healthy world: chaos-a = xs1 (master) + xs2, xs3 standalone, one VM on xs2. */
function healthy(): { record: ControllerRecord; real: RealHost[]; seen: RunObservations } {
  return {
    record: {
      aggregates: [
        { id: 1n, name: "chaos-a", state: "ACTIVE", master: "xs1", hosts: ["xs1", "xs2"], lastError: "", drift: [] },
        { id: 2n, name: "chaos-b", state: "EMPTY", master: "", hosts: [], lastError: "", drift: [] },
      ],
      hostAggregate: new Map([["xs1", 1n], ["xs2", 1n], ["xs3", 0n]]),
      hostStates: new Map(["xs1", "xs2", "xs3"].map((h) => [h, { enabled: true, maintenance: "NONE", membership: "MEMBER" }])),
      operations: [{ id: "op1", kind: "ADD_HOST", state: "SUCCEEDED", target: "xs2" }],
    },
    real: [
      { name: "xs1", url: url(1), view: { kind: "master", poolUuid: "p1", poolName: "chaos-a", master: "xs1", hosts: ["xs1", "xs2"], enabledHosts: ["xs1", "xs2"], vms: [vm("v1", "xs2")] } },
      { name: "xs2", url: url(2), view: { kind: "slave", masterAddress: "127.0.0.11" } },
      { name: "xs3", url: url(3), view: { kind: "master", poolUuid: "p3", poolName: "", master: "xs3", hosts: ["xs3"], enabledHosts: ["xs3"], vms: [] } },
    ],
    seen: { initialVms: new Map([["v1", "v1"]]), failedHosts: new Set(), halts: [], conflicts: [], deaths: [] },
  };
}

describe("invariants", () => {
  it("hold for a healthy world", () => {
    const w = healthy();
    expect(checkAll(w.record, w.real, w.seen)).toEqual([]);
  });

  it("catch an unfinished operation, a CHANGING and an ERROR aggregate", () => {
    const w = healthy();
    w.record.operations.push({ id: "op2", kind: "REMOVE_HOST", state: "RUNNING", target: "xs2" });
    w.record.aggregates[1]!.state = "ERROR";
    w.record.aggregates.push({ id: 3n, name: "c", state: "CHANGING", master: "", hosts: [], lastError: "", drift: [] });
    expect(checkSettled(w.record).map((v) => v.invariant)).toEqual(["every operation ends", "ERROR is repaired", "no aggregate left CHANGING"]);
  });

  it("catch a host left ENTERING or LEAVING maintenance once every operation ended (not while one runs)", () => {
    const w = healthy();
    w.record.hostStates.set("xs2", { enabled: false, maintenance: "ENTERING", membership: "MEMBER" });
    expect(checkSettled(w.record).map((v) => v.detail)).toEqual(["xs2 is ENTERING with no operation running"]);
    w.record.operations.push({ id: "op2", kind: "START_MAINTENANCE", state: "RUNNING", target: "xs2" });
    expect(checkSettled(w.record).map((v) => v.invariant)).toEqual(["every operation ends"]);
  });

  it("catch a rolling maintenance that ended with a host half-done", () => {
    const w = healthy();
    const rolling = (state: string, hosts: [string, string][]) => ({ id: `r-${state}`, kind: "ROLLING_MAINTENANCE", state, target: "chaos-a", rollingHosts: hosts.map(([host, s]) => ({ host, state: s })) });
    w.record.operations.push(rolling("SUCCEEDED", [["xs1", "DONE"], ["xs2", "DONE"]]), rolling("CANCELLED", [["xs1", "DONE"], ["xs2", "PENDING"]]), rolling("FAILED", [["xs1", "EVACUATING"]]));
    expect(checkRolling(w.record)).toEqual([]);
    w.record.operations.push(rolling("SUCCEEDED", [["xs1", "DONE"], ["xs2", "PENDING"]]), rolling("CANCELLED", [["xs2", "PAUSED"]]));
    expect(checkRolling(w.record).map((v) => v.detail)).toEqual(["r-SUCCEEDED ended SUCCEEDED with xs2 PENDING", "r-CANCELLED ended CANCELLED with xs2 PAUSED"]);
  });

  it("catch a pool that differs from its record: members, master, name, a member following another master", () => {
    const w = healthy();
    w.record.aggregates[0]!.hosts = ["xs1", "xs2", "xs3"];
    w.real[0]!.view = { ...(w.real[0]!.view as Extract<RealHost["view"], { kind: "master" }>), poolName: "other" };
    w.real[1]!.view = { kind: "slave", masterAddress: "127.0.0.99" };
    const details = checkPools(w.record, w.real).map((v) => v.detail);
    expect(details.some((d) => d.includes("recorded hosts"))).toBe(true);
    expect(details.some((d) => d.includes('named "other"'))).toBe(true);
    expect(details.some((d) => d.includes("member xs2 does not follow"))).toBe(true);
  });

  it("catch a host enabled in XenServer that the record wants out of service (in maintenance)", () => {
    const w = healthy();
    w.record.hostStates.set("xs2", { enabled: true, maintenance: "IN_MAINTENANCE", membership: "MEMBER" });
    expect(checkPools(w.record, w.real).map((v) => v.detail)).toEqual(["chaos-a: xs2 is enabled in XenServer, but the record (enabled=true, maintenance IN_MAINTENANCE, MEMBER) wants it disabled"]);
  });

  it("catch a host in no aggregate that is still in a pool", () => {
    const w = healthy();
    w.real[2]!.view = { kind: "slave", masterAddress: "127.0.0.11" };
    expect(checkStandalone(w.record, w.real)).toHaveLength(1);
  });

  it("catch a lost, a duplicated and a halted VM, but not a halt on a failed host", () => {
    const w = healthy();
    w.seen.initialVms.set("v2", "v2");
    (w.real[2]!.view as Extract<RealHost["view"], { kind: "master" }>).vms.push(vm("v1", "xs3"));
    w.seen.halts.push({ vm: "v1", hosts: ["xs2"] }, { vm: "v1", hosts: ["xs1"] });
    w.seen.failedHosts.add("xs1");
    const found = checkVms(w.real, w.seen).map((v) => v.invariant);
    expect(found).toEqual(["no VM duplicated", "no VM duplicated", "no VM lost", "a running VM on a host that never failed is never halted"]);
  });

  it("catch two winners of one conflict", () => {
    const w = healthy();
    w.seen.conflicts.push({ what: "a", accepted: 1, succeeded: 1 }, { what: "b", accepted: 2, succeeded: 1 });
    expect(checkConflicts(w.seen).map((v) => v.detail)).toEqual(["b: 2 accepted, 1 succeeded"]);
  });
});
