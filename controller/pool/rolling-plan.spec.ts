import { describe, expect, it } from "vitest";
import { describeImpossibleSteps, estimateMs, observedBandwidth, planRolling, type RollingPlanHost, type RollingPlanVm } from "./rolling-plan.js";
import type { OperationRecord } from "../model/records.js";

const GiB = 1024 ** 3;
const host = (name: string, freeGiB: number): RollingPlanHost => ({ name, uuid: `u-${name}`, freeBytes: freeGiB * GiB, cpuVendor: "GenuineIntel", available: true });
const vm = (name: string, on: string, gib = 1, extra: Partial<RollingPlanVm> = {}): RollingPlanVm => ({ uuid: `vm-${name}`, name, memoryBytes: gib * GiB, localStorage: false, host: on, ...extra });

describe("planRolling", () => {
  it("plans every turn with the VMs where the earlier turns put them, and a done host takes VMs again", () => {
    const hosts = [host("a", 2), host("b", 2), host("c", 2)];
    const vms = [vm("a1", "a"), vm("a2", "a"), vm("b1", "b"), vm("c1", "c")];
    const plan = planRolling(["a", "b", "c"], hosts, vms, 2);
    expect(plan.steps.map((s) => s.host)).toEqual(["a", "b", "c"]);
    expect(plan.steps.every((s) => s.evacuation.blockers.length === 0)).toBe(true);
    expect(plan.steps[0]!.evacuation.moves.map((m) => m.vmName).sort()).toEqual(["a1", "a2"]);
    // b leaves with its own VM and whatever a's turn put on it.
    const onB = plan.steps[0]!.evacuation.moves.filter((m) => m.toHost === "b").length;
    expect(plan.steps[1]!.evacuation.moves).toHaveLength(1 + onB);
    expect(plan.steps[1]!.evacuation.moves.every((m) => m.fromHost === "b" && m.toHost !== "b")).toBe(true);
    expect(plan.evacuationBytes).toBe(plan.steps.reduce((s, st) => s + st.evacuation.moves.reduce((t, m) => t + m.memoryBytes, 0), 0));
    expect(describeImpossibleSteps(plan)).toBeUndefined();
  });

  it("names the step and the VMs when a host cannot be taken out (too full, local storage)", () => {
    const hosts = [host("a", 0.5), host("b", 0.5)];
    const vms = [vm("big", "a", 1), vm("local", "b", 0.25, { localStorage: true })];
    const plan = planRolling(["a", "b"], hosts, vms, 2);
    const message = describeImpossibleSteps(plan)!;
    expect(message).toContain("step 1 (a out): big (vm-big) HOST_NOT_ENOUGH_FREE_MEMORY");
    expect(message).toContain("step 2 (b out): local (vm-local) VM_REQUIRES_SR");
  });

  it("an unavailable member takes no VMs", () => {
    const plan = planRolling(["a"], [host("a", 10), { ...host("b", 10), available: false }], [vm("a1", "a")], 1);
    expect(plan.steps[0]!.evacuation.blockers[0]?.xapiCode).toBe("NO_HOSTS_AVAILABLE");
  });

  it("the return moves back what is not home after the last turn; the estimate counts it unless skipped", () => {
    const plan = planRolling(["a", "b"], [host("a", 4), host("b", 4)], [vm("a1", "a", 1), vm("b1", "b", 1)], 1);
    // a1 goes to b, then b's turn sends both to a: b1 is away from home at the end.
    expect(plan.returnBytes).toBe(1 * GiB);
    expect(estimateMs(plan, GiB, false)).toBe(4000);
    expect(estimateMs(plan, GiB, true)).toBe(3000);
  });
});

describe("observedBandwidth", () => {
  const op = (bytes: number, ms: number, name = "migrate-vms") =>
    ({
      steps: [{ name, state: "DONE", startedAt: new Date(0).toISOString(), finishedAt: new Date(ms).toISOString() }],
      evacuation: { moves: [{ state: "DONE", memoryBytes: bytes }] },
    }) as unknown as OperationRecord;
  it("is the bytes moved over the migration steps' time, from maintenance and rolling steps alike", () => {
    expect(observedBandwidth([op(100, 1000), op(300, 1000, "xs2:migrate-vms")])).toBe(200);
    expect(observedBandwidth([])).toBeUndefined();
    expect(observedBandwidth([op(0, 1000)])).toBeUndefined();
  });
});
