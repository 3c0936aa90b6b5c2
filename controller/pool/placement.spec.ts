import { describe, expect, it } from "vitest";
import { evacuationRecordOf, maintenanceHeadroom, planEvacuation, type PlacementTarget, type VmToPlace } from "./placement.js";

const GiB = 1024 ** 3;

const vm = (name: string, memoryBytes: number, over: Partial<VmToPlace> = {}): VmToPlace => ({ uuid: `${name}-uuid`, name, memoryBytes, localStorage: false, ...over });
const target = (name: string, freeBytes: number, cpuVendor = "GenuineIntel"): PlacementTarget => ({ name, uuid: `${name}-uuid`, freeBytes, cpuVendor });

/** vm name → target name, for the planned moves. */
const placed = (plan: ReturnType<typeof planEvacuation>) => Object.fromEntries(plan.moves.map((m) => [m.vm.name, m.target.name]));

describe("planEvacuation: best-fit decreasing", () => {
  it("places each VM on the target whose free memory fits it most tightly", () => {
    const plan = planEvacuation([vm("a", 2 * GiB)], [target("big", 16 * GiB), target("snug", 3 * GiB), target("small", 1 * GiB)], "GenuineIntel");
    expect(placed(plan)).toEqual({ a: "snug" });
    expect(plan.blockers).toEqual([]);
  });

  it("places the largest VMs first, so a large VM still finds room", () => {
    // Smallest first, best fit would put s1 on t4 (1 left), s2 on t6 (3 left) and strand "large" (4).
    const plan = planEvacuation([vm("s1", 3 * GiB), vm("s2", 3 * GiB), vm("large", 4 * GiB)], [target("t6", 6 * GiB), target("t4", 4 * GiB)], "GenuineIntel");
    expect(placed(plan)).toEqual({ large: "t4", s1: "t6", s2: "t6" });
    expect(plan.moves.map((m) => m.vm.name)).toEqual(["large", "s1", "s2"]);
    expect(plan.blockers).toEqual([]);
  });

  it("orders VMs of equal size by name", () => {
    const plan = planEvacuation([vm("b", GiB), vm("c", GiB), vm("a", GiB)], [target("t", 10 * GiB)], "GenuineIntel");
    expect(plan.moves.map((m) => m.vm.name)).toEqual(["a", "b", "c"]);
  });

  it("reduces a target's free memory as VMs are placed on it", () => {
    const plan = planEvacuation([vm("a", 3 * GiB), vm("b", 3 * GiB)], [target("t4", 4 * GiB), target("t10", 10 * GiB)], "GenuineIntel");
    // a goes to t4 (tightest); t4 then has 1 GiB, so b must go to t10.
    expect(placed(plan)).toEqual({ a: "t4", b: "t10" });
  });

  it("lets a VM use exactly all of a target's free memory", () => {
    const plan = planEvacuation([vm("a", 4 * GiB)], [target("t", 4 * GiB)], "GenuineIntel");
    expect(placed(plan)).toEqual({ a: "t" });
  });

  it("does not change the targets it was given", () => {
    const targets = [target("t", 4 * GiB)];
    planEvacuation([vm("a", 3 * GiB)], targets, "GenuineIntel");
    expect(targets[0]!.freeBytes).toBe(4 * GiB);
  });

  it("plans nothing for no VMs", () => {
    expect(planEvacuation([], [target("t", GiB)], "GenuineIntel")).toEqual({ moves: [], blockers: [] });
  });
});

describe("planEvacuation: blockers", () => {
  it("blocks a VM whose reported blocker is intrinsic, with its code and params", () => {
    const plan = planEvacuation([vm("pci", GiB, { blocker: ["VM_HAS_PCI_ATTACHED", "OpaqueRef:vm", "0000:01:00.0"] })], [target("t", 10 * GiB)], "GenuineIntel");
    expect(plan.moves).toEqual([]);
    expect(plan.blockers).toHaveLength(1);
    expect(plan.blockers[0]).toMatchObject({ xapiCode: "VM_HAS_PCI_ATTACHED", xapiParams: ["OpaqueRef:vm", "0000:01:00.0"], reason: "it has a PCI device passed through" });
    expect(plan.blockers[0]!.vm.name).toBe("pci");
  });

  it("blocks every intrinsic code with a specific reason", () => {
    const codes = ["VM_REQUIRES_SR", "VM_IS_IMMOBILE", "VM_HAS_PCI_ATTACHED", "VM_HAS_VUSBS", "VM_INCOMPATIBLE_WITH_THIS_HOST", "OPERATION_NOT_ALLOWED"];
    const plan = planEvacuation(codes.map((c, i) => vm(`v${i}`, GiB, { blocker: [c] })), [target("t", 100 * GiB)], "GenuineIntel");
    expect(plan.moves).toEqual([]);
    expect(plan.blockers.map((b) => b.xapiCode).sort()).toEqual([...codes].sort());
    for (const b of plan.blockers) {
      expect(b.xapiParams).toEqual([]);
      expect(b.reason).not.toBe("XenServer refuses to move it");
    }
  });

  it("does not block a VM for a reported code that is not intrinsic", () => {
    const plan = planEvacuation([vm("busy", GiB, { blocker: ["OTHER_OPERATION_IN_PROGRESS"] }), vm("none", GiB, { blocker: [] })], [target("t", 10 * GiB)], "GenuineIntel");
    expect(placed(plan)).toEqual({ busy: "t", none: "t" });
    expect(plan.blockers).toEqual([]);
  });

  it("blocks a VM on host-local storage as VM_REQUIRES_SR, without reserving memory for it", () => {
    const plan = planEvacuation([vm("local", 8 * GiB, { localStorage: true }), vm("shared", 4 * GiB)], [target("t", 4 * GiB)], "GenuineIntel");
    expect(plan.blockers).toHaveLength(1);
    expect(plan.blockers[0]).toMatchObject({ xapiCode: "VM_REQUIRES_SR", xapiParams: ["local-uuid", "local-storage"] });
    expect(plan.blockers[0]!.reason).toContain("host-local storage");
    expect(placed(plan)).toEqual({ shared: "t" });
  });

  it("uses only targets with the source's CPU vendor", () => {
    const plan = planEvacuation([vm("a", GiB)], [target("amd-snug", 2 * GiB, "AuthenticAMD"), target("intel", 10 * GiB, "GenuineIntel")], "GenuineIntel");
    expect(placed(plan)).toEqual({ a: "intel" });
  });

  it("blocks a VM as VM_INCOMPATIBLE_WITH_THIS_HOST when no target has the source's CPU vendor", () => {
    const plan = planEvacuation([vm("a", GiB)], [target("amd", 10 * GiB, "AuthenticAMD")], "GenuineIntel");
    expect(plan.moves).toEqual([]);
    expect(plan.blockers).toHaveLength(1);
    expect(plan.blockers[0]).toMatchObject({ xapiCode: "VM_INCOMPATIBLE_WITH_THIS_HOST", xapiParams: ["a-uuid"], reason: "no member with a compatible CPU vendor" });
  });

  it("treats an unknown CPU vendor (source or target) as compatible", () => {
    expect(placed(planEvacuation([vm("a", GiB)], [target("amd", 10 * GiB, "AuthenticAMD")], ""))).toEqual({ a: "amd" });
    expect(placed(planEvacuation([vm("a", GiB)], [target("unknown", 10 * GiB, "")], "GenuineIntel"))).toEqual({ a: "unknown" });
  });

  it("blocks a VM as NO_HOSTS_AVAILABLE when there is no target at all", () => {
    const plan = planEvacuation([vm("a", GiB)], [], "GenuineIntel");
    expect(plan.moves).toEqual([]);
    expect(plan.blockers[0]).toMatchObject({ xapiCode: "NO_HOSTS_AVAILABLE", xapiParams: ["a-uuid"], reason: "no other enabled, live member to move it to" });
  });

  it("blocks a VM as HOST_NOT_ENOUGH_FREE_MEMORY with the need and the most free left after earlier placements", () => {
    const plan = planEvacuation([vm("a", 6 * GiB), vm("b", 5 * GiB)], [target("t8", 8 * GiB), target("t3", 3 * GiB)], "GenuineIntel");
    // a takes t8 (2 GiB left); b needs 5 GiB, the most free is now t3's 3 GiB.
    expect(placed(plan)).toEqual({ a: "t8" });
    expect(plan.blockers).toHaveLength(1);
    expect(plan.blockers[0]).toMatchObject({ xapiCode: "HOST_NOT_ENOUGH_FREE_MEMORY", xapiParams: [String(5 * GiB), String(3 * GiB)] });
    expect(plan.blockers[0]!.vm.name).toBe("b");
    expect(plan.blockers[0]!.reason).toContain(`needs ${5 * GiB} bytes`);
    expect(plan.blockers[0]!.reason).toContain(`${3 * GiB} bytes`);
  });

  it("reports the most free memory among CPU-compatible targets only", () => {
    const plan = planEvacuation([vm("a", 6 * GiB)], [target("amd", 100 * GiB, "AuthenticAMD"), target("intel", 2 * GiB)], "GenuineIntel");
    expect(plan.blockers[0]).toMatchObject({ xapiCode: "HOST_NOT_ENOUGH_FREE_MEMORY", xapiParams: [String(6 * GiB), String(2 * GiB)] });
  });

  it("never places a VM on a target excluded for it", () => {
    const exclude = new Map([["a-uuid", new Set(["snug-uuid"])]]);
    const plan = planEvacuation([vm("a", GiB), vm("b", GiB)], [target("snug", GiB), target("roomy", 10 * GiB)], "GenuineIntel", exclude);
    expect(placed(plan)).toEqual({ a: "roomy", b: "snug" });
  });

  it("blocks a VM every target is excluded for", () => {
    const exclude = new Map([["a-uuid", new Set(["t-uuid"])]]);
    const plan = planEvacuation([vm("a", GiB)], [target("t", 10 * GiB)], "GenuineIntel", exclude);
    expect(plan.moves).toEqual([]);
    expect(plan.blockers).toHaveLength(1);
    expect(plan.blockers[0]!.vm.name).toBe("a");
  });

  it("returns a VM either as a move or as a blocker, never both nor neither", () => {
    const vms = [vm("big", 20 * GiB), vm("local", GiB, { localStorage: true }), vm("pin", GiB, { blocker: ["VM_IS_IMMOBILE"] }), vm("ok", GiB)];
    const plan = planEvacuation(vms, [target("t", 4 * GiB)], "GenuineIntel");
    const names = [...plan.moves.map((m) => m.vm.name), ...plan.blockers.map((b) => b.vm.name)].sort();
    expect(names).toEqual(["big", "local", "ok", "pin"]);
  });
});

describe("maintenanceHeadroom", () => {
  const h = (totalGiB: number, freeGiB: number) => ({ totalBytes: totalGiB * GiB, freeBytes: freeGiB * GiB });

  it("is 0 for no hosts or a single host", () => {
    expect(maintenanceHeadroom([])).toBe(0);
    expect(maintenanceHeadroom([h(16, 16)])).toBe(0);
  });

  it("is all but one host when every host is empty", () => {
    expect(maintenanceHeadroom([h(16, 16), h(16, 16), h(16, 16)])).toBe(2);
  });

  it("is 0 when the least-loaded host's used memory does not fit in the others' free memory", () => {
    expect(maintenanceHeadroom([h(16, 2), h(16, 2), h(16, 2)])).toBe(0);
  });

  it("counts how many of the least-loaded hosts can be emptied into the rest", () => {
    // used: 2, 4, 8, 10; free: 14, 12, 8, 6.
    // k=1: leaving 2 ≤ room 12+8+6=26; k=2: leaving 6 ≤ 14; k=3: leaving 14 > 6.
    expect(maintenanceHeadroom([h(16, 6), h(16, 14), h(16, 8), h(16, 12)])).toBe(2);
  });

  it("empties the least-loaded hosts first", () => {
    // used 10 (free 0), 1 (free 4), 1 (free 4): a light host fits in the others' 4 GiB free; the heavy one never would.
    expect(maintenanceHeadroom([h(10, 0), h(5, 4), h(5, 4)])).toBe(1);
  });

  it("accepts an exact fit", () => {
    // used 4 and 4; emptying one leaves exactly 4 free on the other.
    expect(maintenanceHeadroom([h(8, 4), h(8, 4)])).toBe(1);
  });

  it("does not depend on the order the hosts are listed", () => {
    const hosts = [h(16, 6), h(16, 14), h(16, 8), h(16, 12)];
    expect(maintenanceHeadroom([...hosts].reverse())).toBe(maintenanceHeadroom(hosts));
  });
});

describe("evacuationRecordOf", () => {
  it("records every move PLANNED with its source and target, and every blocker", () => {
    const plan = planEvacuation(
      [vm("a", 2 * GiB), vm("local", GiB, { localStorage: true })],
      [target("t", 4 * GiB)],
      "GenuineIntel",
    );
    const record = evacuationRecordOf(plan, { fromHost: (uuid) => `src-of-${uuid}`, vmsTotal: 2, maxParallel: 3, validateOnly: true });
    expect(record).toStrictEqual({
      moves: [
        { vmUuid: "a-uuid", vmName: "a", fromHost: "src-of-a-uuid", toHost: "t", toHostUuid: "t-uuid", memoryBytes: 2 * GiB, state: "PLANNED", progress: 0, attempts: 0 },
      ],
      blockers: [
        {
          vmUuid: "local-uuid",
          vmName: "local",
          reason: plan.blockers[0]!.reason,
          xapiCode: "VM_REQUIRES_SR",
          xapiParams: ["local-uuid", "local-storage"],
        },
      ],
      vmsTotal: 2,
      vmsMoved: 0,
      maxParallel: 3,
      validateOnly: true,
    });
  });

  it("takes vmsTotal, maxParallel and validateOnly from the labels, not from the plan", () => {
    const record = evacuationRecordOf({ moves: [], blockers: [] }, { fromHost: () => "x", vmsTotal: 7, maxParallel: 1, validateOnly: false });
    expect(record).toMatchObject({ moves: [], blockers: [], vmsTotal: 7, vmsMoved: 0, maxParallel: 1, validateOnly: false });
  });
});
