/**
 * Memory accounting: VM footprints and each host's total and free memory
 * (docs/xenapi-notes.md §Records and reads).
 */
import type { PoolDb } from "./pool-db.js";
import type { HostFacts } from "./facts.js";
import type { VmRow } from "./rows.js";

const MiB = 1024 * 1024;

/** Memory a VM occupies on its host: memory + overhead. */
export function vmFootprint(vm: VmRow): number {
  return vm.memoryBytes + vm.overheadBytes;
}

/** Memory a VM needs on a migration target (HOST_NOT_ENOUGH_FREE_MEMORY's "needed"). */
export function vmNeededBytes(vm: VmRow): number {
  return vmFootprint(vm);
}

/** host_metrics.memory_total: physical memory once the host connected, else 0. */
export function hostTotalBytes(db: PoolDb, hostRef: string, facts: HostFacts | undefined): number {
  const host = db.hosts.get(hostRef);
  if (!host || !host.memoryKnown || !facts) return 0;
  return facts.memoryMiB * MiB;
}

/**
 * Free memory: total − Σ(resident VMs incl. dom0: memory + overhead) −
 * reservations of migrations in flight towards this host. Never negative.
 */
export function hostFreeBytes(db: PoolDb, hostRef: string, facts: HostFacts | undefined): number {
  const total = hostTotalBytes(db, hostRef, facts);
  if (total === 0) return 0;
  let used = 0;
  for (const vm of db.vms.values()) {
    if (vm.residentOn === hostRef) used += vmFootprint(vm);
    if (vm.migration && vm.migration.targetRef === hostRef) used += vm.migration.reservedBytes;
  }
  return Math.max(0, total - used);
}
