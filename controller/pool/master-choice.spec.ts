import { describe, expect, it } from "vitest";
import { chooseMaster, masterCandidate, type MasterCandidate } from "./master-choice.js";

const c = (name: string, freeBytes: number, over: Partial<MasterCandidate> = {}): MasterCandidate => ({ name, live: true, enabled: true, inMaintenance: false, freeBytes, ...over });

const strict = { fallbackToAnyLive: false };
const lenient = { fallbackToAnyLive: true };

describe("chooseMaster", () => {
  it("chooses the qualifying member with the most free memory", () => {
    expect(chooseMaster([c("a", 10), c("b", 30), c("c", 20)], strict)).toBe("b");
  });

  it("breaks ties by the order listed", () => {
    expect(chooseMaster([c("a", 10), c("b", 30), c("c", 30)], strict)).toBe("b");
    expect(chooseMaster([c("c", 30), c("b", 30), c("a", 10)], strict)).toBe("c");
  });

  it("skips members that are not live, disabled, or in maintenance, however much memory they have", () => {
    const candidates = [c("dead", 100, { live: false }), c("off", 90, { enabled: false }), c("maint", 80, { inMaintenance: true }), c("ok", 1)];
    expect(chooseMaster(candidates, strict)).toBe("ok");
    expect(chooseMaster(candidates, lenient)).toBe("ok");
  });

  it("chooses nobody without the fallback when no member qualifies", () => {
    expect(chooseMaster([c("off", 90, { enabled: false }), c("maint", 80, { inMaintenance: true })], strict)).toBeUndefined();
  });

  it("with the fallback, chooses the live member with the most free memory when none qualifies", () => {
    expect(chooseMaster([c("off", 50, { enabled: false }), c("maint", 80, { inMaintenance: true }), c("dead", 100, { live: false })], lenient)).toBe("maint");
  });

  it("with the fallback, breaks ties by the order listed", () => {
    expect(chooseMaster([c("off", 80, { enabled: false }), c("maint", 80, { inMaintenance: true })], lenient)).toBe("off");
  });

  it("never chooses a member that is not live, even with the fallback", () => {
    expect(chooseMaster([c("dead", 100, { live: false })], lenient)).toBeUndefined();
    expect(chooseMaster([c("dead", 100, { live: false })], strict)).toBeUndefined();
  });

  it("chooses nobody from no candidates", () => {
    expect(chooseMaster([], strict)).toBeUndefined();
    expect(chooseMaster([], lenient)).toBeUndefined();
  });

  it("does not reorder the candidates it was given", () => {
    const candidates = [c("a", 1), c("b", 2)];
    chooseMaster(candidates, lenient);
    expect(candidates.map((x) => x.name)).toEqual(["a", "b"]);
  });
});

describe("masterCandidate", () => {
  const rec = (over: Partial<Parameters<typeof masterCandidate>[0]> = {}) => ({
    name: "h1",
    liveness: "ALIVE",
    enabled: true,
    maintenance: "NONE",
    capacity: { memoryFreeBytes: 1234 } as { memoryFreeBytes: number } | null,
    ...over,
  });

  it("reads a healthy host as live, enabled, not in maintenance, with its reported free memory", () => {
    expect(masterCandidate(rec())).toStrictEqual({ name: "h1", live: true, enabled: true, inMaintenance: false, freeBytes: 1234 });
  });

  it("counts only ALIVE as live", () => {
    for (const liveness of ["XAPI_UNREACHABLE", "UNREACHABLE", "FAILED"]) expect(masterCandidate(rec({ liveness })).live).toBe(false);
  });

  it("counts every maintenance state but NONE as in maintenance", () => {
    for (const maintenance of ["ENTERING", "IN_MAINTENANCE", "LEAVING"]) expect(masterCandidate(rec({ maintenance })).inMaintenance).toBe(true);
  });

  it("carries the enabled flag", () => {
    expect(masterCandidate(rec({ enabled: false })).enabled).toBe(false);
  });

  it("prefers the given free memory figure over the report, even 0", () => {
    expect(masterCandidate(rec(), 9999).freeBytes).toBe(9999);
    expect(masterCandidate(rec(), 0).freeBytes).toBe(0);
  });

  it("takes 0 free memory when nothing was reported and no figure is given", () => {
    expect(masterCandidate(rec({ capacity: null })).freeBytes).toBe(0);
  });
});
