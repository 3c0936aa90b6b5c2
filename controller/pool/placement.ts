/** Plans where the VMs of a host go: best-fit decreasing over the other members' free memory. */
import type { EvacuationRecord } from "../model/records.js";
import { vmIntrinsicBlockerCodes } from "../../shared/xapi-codes.js";

/** A VM that has to leave. */
export interface VmToPlace {
  uuid: string;
  name: string;
  memoryBytes: number;
  localStorage: boolean;
  /** What XenServer reports would stop the VM from moving (code, then params), if anything. */
  blocker?: string[];
}

/** A member that can take VMs. */
export interface PlacementTarget {
  name: string;
  uuid: string;
  freeBytes: number;
  cpuVendor: string;
}

/** A planned move. */
export interface PlannedMove {
  vm: VmToPlace;
  target: PlacementTarget;
}

/** A VM that cannot move, with the XenAPI code that describes why. */
export interface PlacementBlocker {
  vm: VmToPlace;
  reason: string;
  xapiCode: string;
  xapiParams: string[];
}

/** The outcome of planning. */
export interface EvacuationPlan {
  moves: PlannedMove[];
  blockers: PlacementBlocker[];
}


const reasons: Record<string, string> = {
  VM_REQUIRES_SR: "its disks are on storage only this host can reach (local SR), so it cannot live-migrate",
  VM_IS_IMMOBILE: "it is marked immobile",
  VM_HAS_PCI_ATTACHED: "it has a PCI device passed through",
  VM_HAS_VUSBS: "it has USB devices passed through",
  VM_INCOMPATIBLE_WITH_THIS_HOST: "no other member has a compatible CPU",
  OPERATION_NOT_ALLOWED: "XenServer does not allow migrating it",
};

/**
 * Places VMs largest first, each on the target whose free memory fits it most tightly
 * (best-fit decreasing), so large VMs still find room. Free memory is reduced as VMs are
 * placed, which stands for the reservations of migrations that will run concurrently.
 */
export function planEvacuation(vms: VmToPlace[], targets: PlacementTarget[], sourceCpuVendor: string, exclude: ReadonlyMap<string, ReadonlySet<string>> = new Map()): EvacuationPlan {
  const free = new Map(targets.map((t) => [t.uuid, t.freeBytes]));
  const moves: PlannedMove[] = [];
  const blockers: PlacementBlocker[] = [];
  const ordered = [...vms].sort((a, b) => b.memoryBytes - a.memoryBytes || a.name.localeCompare(b.name));
  for (const vm of ordered) {
    if (vm.blocker && vm.blocker.length > 0 && vmIntrinsicBlockerCodes.has(vm.blocker[0]!)) {
      const [code, ...params] = vm.blocker;
      blockers.push({ vm, reason: reasons[code!] ?? "XenServer refuses to move it", xapiCode: code!, xapiParams: params });
      continue;
    }
    if (vm.localStorage) {
      blockers.push({ vm, reason: "its disks are on host-local storage, so it cannot live-migrate", xapiCode: "VM_REQUIRES_SR", xapiParams: [vm.uuid, "local-storage"] });
      continue;
    }
    const compatible = targets.filter((t) => !exclude.get(vm.uuid)?.has(t.uuid) && (!sourceCpuVendor || !t.cpuVendor || t.cpuVendor === sourceCpuVendor));
    if (compatible.length === 0) {
      const reason = targets.length === 0 ? "no other enabled, live member to move it to" : "no member with a compatible CPU vendor";
      blockers.push({ vm, reason, xapiCode: targets.length === 0 ? "NO_HOSTS_AVAILABLE" : "VM_INCOMPATIBLE_WITH_THIS_HOST", xapiParams: [vm.uuid] });
      continue;
    }
    const fitting = compatible.filter((t) => free.get(t.uuid)! >= vm.memoryBytes).sort((a, b) => free.get(a.uuid)! - free.get(b.uuid)!);
    const target = fitting[0];
    if (!target) {
      const most = Math.max(...compatible.map((t) => free.get(t.uuid)!));
      blockers.push({
        vm,
        reason: `needs ${vm.memoryBytes} bytes but the most free memory on a member is ${most} bytes`,
        xapiCode: "HOST_NOT_ENOUGH_FREE_MEMORY",
        xapiParams: [String(vm.memoryBytes), String(most)],
      });
      continue;
    }
    free.set(target.uuid, free.get(target.uuid)! - vm.memoryBytes);
    moves.push({ vm, target });
  }
  return { moves, blockers };
}

/**
 * How many hosts can be in maintenance at once with all VMs still placed, estimated from memory:
 * the least-loaded hosts are emptied first while the others' free memory absorbs their used memory.
 */
export function maintenanceHeadroom(hosts: { totalBytes: number; freeBytes: number }[]): number {
  const sorted = hosts.map((h) => ({ used: h.totalBytes - h.freeBytes, free: h.freeBytes })).sort((a, b) => a.used - b.used);
  let best = 0;
  for (let k = 1; k < sorted.length; k++) {
    const leaving = sorted.slice(0, k).reduce((s, h) => s + h.used, 0);
    const room = sorted.slice(k).reduce((s, h) => s + h.free, 0);
    if (leaving <= room) best = k;
    else break;
  }
  return best;
}

/** How the moves of a plan are labelled in the operation's record. */
export interface RecordLabels {
  /** Name of the host a VM leaves. */
  fromHost(vmUuid: string): string;
  vmsTotal: number;
  maxParallel: number;
  validateOnly: boolean;
}

/** The operation's evacuation record for a plan: every move PLANNED, every blocker listed. */
export function evacuationRecordOf(plan: EvacuationPlan, labels: RecordLabels): EvacuationRecord {
  return {
    moves: plan.moves.map((m) => ({
      vmUuid: m.vm.uuid,
      vmName: m.vm.name,
      fromHost: labels.fromHost(m.vm.uuid),
      toHost: m.target.name,
      toHostUuid: m.target.uuid,
      memoryBytes: m.vm.memoryBytes,
      state: "PLANNED",
      progress: 0,
      attempts: 0,
    })),
    blockers: plan.blockers.map((b) => ({ vmUuid: b.vm.uuid, vmName: b.vm.name, reason: b.reason, xapiCode: b.xapiCode, xapiParams: b.xapiParams })),
    vmsTotal: labels.vmsTotal,
    vmsMoved: 0,
    maxParallel: labels.maxParallel,
    validateOnly: labels.validateOnly,
  };
}
