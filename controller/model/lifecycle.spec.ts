import { describe, expect, it } from "vitest";
import {
  abandonJoin,
  abandonLeave,
  adoptedByRepair,
  beginEvacuation,
  beginJoin,
  beginLeave,
  beginLeaveMaintenance,
  confirmMember,
  disable,
  enable,
  enterMaintenance,
  errorAfterFailure,
  errorAfterRemedy,
  errorAfterRepair,
  errorWhenMasterAnswers,
  evacuationEnded,
  fenced,
  fencedBackByRepair,
  isMasterFailureError,
  isRemedy,
  leaveMaintenance,
  leaveMaintenanceEnded,
  markFailed,
  masterFailureCondition,
  poolStateOf,
  refusalOfEnabled,
  takesVms,
  enabledInPool,
  refusalOfMaintenanceStart,
  refusalOfMaintenanceStop,
  refusalWhileError,
  release,
  removedByRepair,
  reportedLiveness,
  silent,
  type OperationEnd,
} from "./lifecycle.js";
import type { OperationKindName, PoolErrorRecord, PoolFactsRecord } from "./records.js";

const allKinds: OperationKindName[] = ["ADD_HOST", "REMOVE_HOST", "START_MAINTENANCE", "STOP_MAINTENANCE", "RECOVER_MASTER", "ROLLING_MAINTENANCE"];
const nonRemedyKinds = allKinds.filter((k) => k !== "RECOVER_MASTER");

const opError: PoolErrorRecord = { message: "AddHost failed: POOL_JOINING_HOST_CANNOT_CONTAIN_SHARED_SRS", operationId: "op-1", occurredAt: "2024-01-01T00:00:00.000Z" };
const masterDown: PoolErrorRecord = masterFailureCondition("agent or XAPI unreachable", "2024-01-02T00:00:00.000Z").lastError!;

const end = (over: Partial<OperationEnd> = {}): OperationEnd => ({
  kind: "ADD_HOST",
  operationId: "op-2",
  error: { code: "FAILED_PRECONDITION", message: "second failure", xapiCode: "HOST_OFFLINE", xapiParams: ["OpaqueRef:h"] },
  finishedAt: "2024-01-03T00:00:00.000Z",
  breaksPool: true,
  ...over,
});

describe("isRemedy", () => {
  it("counts only RECOVER_MASTER as a remedy of ERROR", () => {
    expect(isRemedy("RECOVER_MASTER")).toBe(true);
    for (const k of nonRemedyKinds) expect(isRemedy(k)).toBe(false);
  });
});

describe("poolStateOf", () => {
  it("is EMPTY with no hosts and nothing going on", () => {
    expect(poolStateOf({ hosts: 0, lastError: null, unfinished: [] })).toBe("EMPTY");
  });

  it("is ACTIVE with hosts and nothing going on", () => {
    expect(poolStateOf({ hosts: 1, lastError: null, unfinished: [] })).toBe("ACTIVE");
    expect(poolStateOf({ hosts: 5, lastError: null, unfinished: [] })).toBe("ACTIVE");
  });

  it("is CHANGING while any operation has not ended, whatever the host count", () => {
    for (const k of allKinds) {
      expect(poolStateOf({ hosts: 0, lastError: null, unfinished: [k] })).toBe("CHANGING");
      expect(poolStateOf({ hosts: 3, lastError: null, unfinished: [k] })).toBe("CHANGING");
    }
  });

  it("is ERROR while an error is recorded, with or without hosts", () => {
    expect(poolStateOf({ hosts: 0, lastError: opError, unfinished: [] })).toBe("ERROR");
    expect(poolStateOf({ hosts: 2, lastError: opError, unfinished: [] })).toBe("ERROR");
    expect(poolStateOf({ hosts: 2, lastError: masterDown, unfinished: [] })).toBe("ERROR");
  });

  it("stays ERROR while only non-remedy operations are unfinished", () => {
    for (const k of nonRemedyKinds) expect(poolStateOf({ hosts: 2, lastError: opError, unfinished: [k] })).toBe("ERROR");
  });

  it("shows CHANGING through ERROR only while a remedy (RECOVER_MASTER) runs", () => {
    expect(poolStateOf({ hosts: 2, lastError: masterDown, unfinished: ["RECOVER_MASTER"] })).toBe("CHANGING");
    expect(poolStateOf({ hosts: 2, lastError: opError, unfinished: ["ADD_HOST", "RECOVER_MASTER"] })).toBe("CHANGING");
  });

  it("goes back to ERROR when the remedy ends and the error is still recorded", () => {
    expect(poolStateOf({ hosts: 2, lastError: masterDown, unfinished: [] })).toBe("ERROR");
  });
});

describe("refusalWhileError", () => {
  it("accepts every kind when no error is recorded", () => {
    for (const k of allKinds) expect(refusalWhileError({ id: 7, lastError: null }, k)).toBeUndefined();
  });

  it("refuses non-remedy work while in ERROR, naming the aggregate, the reason and the repair command", () => {
    for (const k of nonRemedyKinds) {
      const why = refusalWhileError({ id: 7, lastError: opError }, k);
      expect(why).toBeDefined();
      expect(why).toContain("aggregate 7 is in ERROR");
      expect(why).toContain(opError.message);
      expect(why).toContain('"aggctl aggregate-repair 7"');
    }
  });

  it("accepts the remedy while in ERROR", () => {
    expect(refusalWhileError({ id: 7, lastError: masterDown }, "RECOVER_MASTER")).toBeUndefined();
    expect(refusalWhileError({ id: 7, lastError: opError }, "RECOVER_MASTER")).toBeUndefined();
  });
});

describe("errorAfterFailure", () => {
  it("records the first failure with its XenAPI code, params, operation and time", () => {
    expect(errorAfterFailure(null, end())).toStrictEqual({
      lastError: { message: "second failure", xapiCode: "HOST_OFFLINE", xapiParams: ["OpaqueRef:h"], operationId: "op-2", occurredAt: "2024-01-03T00:00:00.000Z" },
    });
  });

  it("keeps the first failure's reason when another operation fails before a repair", () => {
    for (const k of nonRemedyKinds) expect(errorAfterFailure(opError, end({ kind: k })).lastError).toBe(opError);
    expect(errorAfterFailure(masterDown, end({ kind: "REMOVE_HOST" })).lastError).toBe(masterDown);
  });

  it("lets a remedy's own failure replace the recorded reason", () => {
    const after = errorAfterFailure(masterDown, end({ kind: "RECOVER_MASTER", operationId: "op-r", error: { code: "ABORTED", message: "recovery failed" } }));
    expect(after.lastError).toMatchObject({ message: "recovery failed", operationId: "op-r", occurredAt: "2024-01-03T00:00:00.000Z" });
    expect(isMasterFailureError(after.lastError)).toBe(false);
  });

  it("keeps the current error (or none) when the failure does not break the pool", () => {
    expect(errorAfterFailure(null, end({ kind: "START_MAINTENANCE", breaksPool: false })).lastError).toBeNull();
    expect(errorAfterFailure(opError, end({ kind: "START_MAINTENANCE", breaksPool: false })).lastError).toBe(opError);
    expect(errorAfterFailure(masterDown, end({ kind: "RECOVER_MASTER", breaksPool: false })).lastError).toBe(masterDown);
  });
});

describe("errorAfterRemedy", () => {
  it("clears the master-failure condition", () => {
    expect(errorAfterRemedy(masterDown, undefined).lastError).toBeNull();
  });

  it("clears a failed remedy's own error", () => {
    const failedRecovery: PoolErrorRecord = { message: "recovery failed", operationId: "op-r", occurredAt: "2024-01-03T00:00:00.000Z" };
    expect(errorAfterRemedy(failedRecovery, "RECOVER_MASTER").lastError).toBeNull();
  });

  it("keeps another operation's failure", () => {
    for (const k of nonRemedyKinds) expect(errorAfterRemedy(opError, k).lastError).toBe(opError);
    expect(errorAfterRemedy(opError, undefined).lastError).toBe(opError);
  });

  it("leaves no error as no error", () => {
    expect(errorAfterRemedy(null, undefined).lastError).toBeNull();
  });
});

describe("errorAfterRepair", () => {
  it("clears whatever was recorded", () => {
    expect(errorAfterRepair()).toStrictEqual({ lastError: null });
  });
});

describe("the master-failure condition", () => {
  it("is recorded with the failure text, the time, and no operation", () => {
    const { lastError } = masterFailureCondition("no member reaches it", "2024-05-05T05:05:05.000Z");
    expect(lastError).toStrictEqual({ message: "pool master failed: no member reaches it", occurredAt: "2024-05-05T05:05:05.000Z" });
  });

  it("is recognised by isMasterFailureError", () => {
    expect(isMasterFailureError(masterDown)).toBe(true);
  });

  it("is not confused with an operation's failure, even one with the same text", () => {
    expect(isMasterFailureError(opError)).toBe(false);
    expect(isMasterFailureError({ ...masterDown, operationId: "op-9" })).toBe(false);
    expect(isMasterFailureError({ message: "something else", occurredAt: "t" })).toBe(false);
    expect(isMasterFailureError(null)).toBe(false);
    expect(isMasterFailureError(undefined)).toBe(false);
  });

  it("ends when the master answers again", () => {
    expect(errorWhenMasterAnswers(masterDown).lastError).toBeNull();
  });

  it("is the only error the master answering ends", () => {
    expect(errorWhenMasterAnswers(opError).lastError).toBe(opError);
    expect(errorWhenMasterAnswers(null).lastError).toBeNull();
  });
});

describe("host membership transitions", () => {
  it("beginJoin puts the host in the aggregate as JOINING", () => {
    expect(beginJoin(4)).toStrictEqual({ aggregateId: 4, membership: "JOINING" });
  });

  it("confirmMember makes it an enabled MEMBER and clears the reason", () => {
    expect(confirmMember()).toStrictEqual({ membership: "MEMBER", enabled: true, statusReason: null });
  });

  it("abandonJoin undoes the join intent only", () => {
    expect(abandonJoin()).toStrictEqual({ aggregateId: null, membership: null });
  });

  it("beginLeave marks it LEAVING only", () => {
    expect(beginLeave()).toStrictEqual({ membership: "LEAVING" });
  });

  it("abandonLeave restores the prior membership", () => {
    expect(abandonLeave("MEMBER")).toStrictEqual({ membership: "MEMBER" });
    expect(abandonLeave("FAILED")).toStrictEqual({ membership: "FAILED" });
  });

  it("release leaves the host standalone, disabled and out of maintenance, naming the aggregate", () => {
    expect(release(3)).toStrictEqual({ aggregateId: null, membership: null, enabled: false, maintenance: "NONE", statusReason: "removed from aggregate 3" });
  });

  it("markFailed makes a replaced master FAILED, disabled, with FAILED liveness and the reason", () => {
    expect(markFailed("master unreachable")).toStrictEqual({ membership: "FAILED", enabled: false, liveness: "FAILED", statusReason: "master unreachable" });
  });

  it("fenced makes it ALIVE again but keeps it disabled, leaving membership FAILED", () => {
    const c = fenced("repointed at new master");
    expect(c).toStrictEqual({ enabled: false, liveness: "ALIVE", statusReason: "repointed at new master" });
    expect(c).not.toHaveProperty("membership");
  });
});

describe("what a repair finds", () => {
  it("adoptedByRepair follows XenServer's enabled flag", () => {
    expect(adoptedByRepair(true)).toStrictEqual({ membership: "MEMBER", enabled: true, statusReason: null });
    expect(adoptedByRepair(false)).toStrictEqual({ membership: "MEMBER", enabled: false, statusReason: "disabled in XenServer" });
    // In maintenance it stays disabled, whatever XenServer says (the reconciler disables it there too).
    expect(adoptedByRepair(true, "IN_MAINTENANCE")).toStrictEqual({ membership: "MEMBER", enabled: false, statusReason: "in maintenance" });
    expect(adoptedByRepair(true, "ENTERING")).toMatchObject({ enabled: false });
  });

  it("fencedBackByRepair makes a fenced former master a MEMBER that stays disabled, pointing at host-maintenance-stop", () => {
    const c = fencedBackByRepair();
    expect(c.membership).toBe("MEMBER");
    expect(c.enabled).toBe(false);
    expect(c.statusReason).toContain("host-maintenance-stop");
    expect(Object.keys(c).sort()).toEqual(["enabled", "membership", "statusReason"]);
  });

  it("removedByRepair leaves the host standalone, disabled and out of maintenance, naming the aggregate", () => {
    expect(removedByRepair(9)).toStrictEqual({
      aggregateId: null,
      membership: null,
      enabled: false,
      maintenance: "NONE",
      statusReason: "removed from aggregate 9 by repair: not in its pool",
    });
  });
});

describe("enabled flag", () => {
  it("enable lets the host take VMs and clears the reason", () => {
    expect(enable()).toStrictEqual({ enabled: true, statusReason: null });
  });

  it("disable records the reason", () => {
    expect(disable("operator")).toStrictEqual({ enabled: false, statusReason: "operator" });
  });

  const member = { name: "h1", membership: "MEMBER", aggregateId: 7 } as const;

  it("refusalOfEnabled refuses enabling a host in any maintenance state", () => {
    for (const m of ["ENTERING", "IN_MAINTENANCE", "LEAVING"] as const) {
      const why = refusalOfEnabled({ ...member, maintenance: m }, true);
      expect(why).toContain('host "h1" is in maintenance');
      expect(why).toContain(m);
      expect(why).toContain("StopMaintenance");
    }
  });

  it("refusalOfEnabled accepts enabling outside maintenance and disabling in any maintenance state", () => {
    expect(refusalOfEnabled({ ...member, maintenance: "NONE" }, true)).toBeUndefined();
    expect(refusalOfEnabled({ name: "h1", membership: null, aggregateId: null, maintenance: "NONE" }, true)).toBeUndefined();
    for (const m of ["NONE", "ENTERING", "IN_MAINTENANCE", "LEAVING"] as const) expect(refusalOfEnabled({ ...member, maintenance: m }, false)).toBeUndefined();
  });

  it("refusalOfEnabled refuses either way while the host joins or leaves, and enabling a FAILED former master", () => {
    for (const membership of ["JOINING", "LEAVING"] as const) {
      for (const enabled of [true, false]) expect(refusalOfEnabled({ ...member, membership, maintenance: "NONE" }, enabled)).toMatch(/aggregate 7; wait for that operation/);
    }
    expect(refusalOfEnabled({ ...member, membership: "FAILED", maintenance: "NONE" }, true)).toMatch(/FAILED former pool master .*aggregate-repair 7/);
    expect(refusalOfEnabled({ ...member, membership: "FAILED", maintenance: "NONE" }, false)).toBeUndefined();
  });

  it("enabledInPool: only a confirmed member's flag is XenServer's", () => {
    expect(enabledInPool(member)).toBe(true);
    for (const membership of ["JOINING", "LEAVING", "FAILED"] as const) expect(enabledInPool({ ...member, membership })).toBe(false);
    expect(enabledInPool({ membership: null, aggregateId: null })).toBe(false);
  });
});

describe("takesVms", () => {
  it("only an enabled MEMBER out of maintenance is wanted enabled in XenServer", () => {
    expect(takesVms({ membership: "MEMBER", enabled: true, maintenance: "NONE" })).toBe(true);
    expect(takesVms({ membership: "MEMBER", enabled: false, maintenance: "NONE" })).toBe(false);
    for (const m of ["ENTERING", "IN_MAINTENANCE", "LEAVING"] as const) expect(takesVms({ membership: "MEMBER", enabled: true, maintenance: m })).toBe(false);
    for (const membership of ["JOINING", "LEAVING", "FAILED", null] as const) expect(takesVms({ membership, enabled: true, maintenance: "NONE" })).toBe(false);
  });
});

describe("maintenance refusals", () => {
  it("maintenance may start only from NONE", () => {
    expect(refusalOfMaintenanceStart({ name: "h1", maintenance: "NONE" })).toBeUndefined();
    expect(refusalOfMaintenanceStart({ name: "h1", maintenance: "ENTERING" })).toBe('host "h1" is already being evacuated');
    expect(refusalOfMaintenanceStart({ name: "h1", maintenance: "IN_MAINTENANCE" })).toBe('host "h1" is already in maintenance');
    expect(refusalOfMaintenanceStart({ name: "h1", maintenance: "LEAVING" })).toBe('host "h1" is already in maintenance');
  });

  it("maintenance may not stop while the host is being evacuated", () => {
    for (const enabled of [true, false]) expect(refusalOfMaintenanceStop({ name: "h1", maintenance: "ENTERING", enabled })).toContain("still being evacuated");
  });

  it("maintenance may not stop twice", () => {
    expect(refusalOfMaintenanceStop({ name: "h1", maintenance: "LEAVING", enabled: false })).toBe('host "h1" is already leaving maintenance');
  });

  it("maintenance may not stop on an enabled host that is not in maintenance", () => {
    expect(refusalOfMaintenanceStop({ name: "h1", maintenance: "NONE", enabled: true })).toBe('host "h1" is not in maintenance');
  });

  it("maintenance may stop from IN_MAINTENANCE, and on a disabled host outside maintenance (to enable it)", () => {
    expect(refusalOfMaintenanceStop({ name: "h1", maintenance: "IN_MAINTENANCE", enabled: false })).toBeUndefined();
    expect(refusalOfMaintenanceStop({ name: "h1", maintenance: "NONE", enabled: false })).toBeUndefined();
  });
});

describe("maintenance transitions", () => {
  it("beginEvacuation sets ENTERING only", () => {
    expect(beginEvacuation()).toStrictEqual({ maintenance: "ENTERING" });
  });

  it("enterMaintenance sets IN_MAINTENANCE only", () => {
    expect(enterMaintenance()).toStrictEqual({ maintenance: "IN_MAINTENANCE" });
  });

  it("evacuationEnded on a host still enabled only leaves ENTERING", () => {
    expect(evacuationEnded({ name: "h1", enabled: true }, "cancelled")).toStrictEqual({ maintenance: "NONE" });
  });

  it("evacuationEnded on a host it disabled keeps it disabled, with why and how to enable it", () => {
    const c = evacuationEnded({ name: "h1", enabled: false }, "VM vm-3 blocked");
    expect(c.maintenance).toBe("NONE");
    expect(c.enabled).toBe(false);
    expect(c.statusReason).toContain("VM vm-3 blocked");
    expect(c.statusReason).toContain('"aggctl host-maintenance-stop h1"');
  });

  it("beginLeaveMaintenance sets LEAVING only", () => {
    expect(beginLeaveMaintenance()).toStrictEqual({ maintenance: "LEAVING" });
  });

  it("leaveMaintenance sets NONE only", () => {
    expect(leaveMaintenance()).toStrictEqual({ maintenance: "NONE" });
  });

  it("leaveMaintenanceEnded puts a still-disabled host back in maintenance", () => {
    expect(leaveMaintenanceEnded({ maintenance: "LEAVING", enabled: false })).toStrictEqual({ maintenance: "IN_MAINTENANCE" });
  });

  it("leaveMaintenanceEnded takes an already enabled host out of maintenance", () => {
    expect(leaveMaintenanceEnded({ maintenance: "LEAVING", enabled: true })).toStrictEqual({ maintenance: "NONE" });
  });

  it("leaveMaintenanceEnded changes nothing when the host is not LEAVING", () => {
    for (const m of ["NONE", "ENTERING", "IN_MAINTENANCE"] as const) {
      expect(leaveMaintenanceEnded({ maintenance: m, enabled: false })).toBeUndefined();
      expect(leaveMaintenanceEnded({ maintenance: m, enabled: true })).toBeUndefined();
    }
  });
});

describe("liveness", () => {
  const facts = (xapiReachable: boolean): PoolFactsRecord => ({
    hostUuid: "h-uuid",
    poolUuid: "p-uuid",
    poolName: "pool",
    masterAddress: "10.0.0.1",
    role: "SLAVE",
    xapiReachable,
    emergencyMode: false,
  });

  it("a report with XAPI reachable, or without pool facts, means ALIVE", () => {
    expect(reportedLiveness(facts(true))).toBe("ALIVE");
    expect(reportedLiveness(null)).toBe("ALIVE");
  });

  it("a report with XAPI unreachable means XAPI_UNREACHABLE", () => {
    expect(reportedLiveness(facts(false))).toBe("XAPI_UNREACHABLE");
  });

  it("silent marks the host UNREACHABLE with the reason, touching nothing else", () => {
    expect(silent()).toStrictEqual({ liveness: "UNREACHABLE", statusReason: "no heartbeat for three intervals" });
  });
});
