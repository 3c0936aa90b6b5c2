/**
 * host.evacuate: the evacuation plan (also behind get_vms_which_prevent_evacuation and
 * assert_can_evacuate) and its run in batches (docs/xenapi-notes.md §Host maintenance).
 */
import { hostFreeBytes, vmNeededBytes } from "../state/memory.js";
import type { PoolDb } from "../state/pool-db.js";
import type { HostRow, VmRow } from "../state/rows.js";
import { createTask } from "../state/tasks.js";
import { XapiError, describeError, fail } from "../xapi-error.js";
import type { World } from "../world.js";
import { assertCanMigrate, cpuError, runMigration, vmOperationError } from "./migrate-vm.js";

/** Default host.evacuate batch size (`evacuation_batch_size`). */
export const DEFAULT_EVACUATION_BATCH = 10;

/** A planned move of one VM. */
export interface PlannedMove {
  vm: VmRow;
  target: HostRow;
}

/** The result of planning: moves for every VM that can go, errors for the others (VM order). */
export interface EvacuationPlan {
  moves: PlannedMove[];
  errors: Map<string, string[]>;
}

/** Guests resident on a host, largest first (first-fit decreasing). */
function guestsToMove(db: PoolDb, host: HostRow): VmRow[] {
  return db
    .residentGuests(host.ref)
    .sort((a, b) => b.memoryBytes - a.memoryBytes || a.nameLabel.localeCompare(b.nameLabel));
}

/**
 * Plans host.evacuate over the other enabled, live hosts: each VM (largest
 * first) goes to the compatible host with the most free memory left.
 * Per-VM errors: the VM's own pool_migrate error, NO_HOSTS_AVAILABLE [vm],
 * VM_REQUIRES_SR [vm, sr], VM_INCOMPATIBLE_WITH_THIS_HOST, or
 * HOST_NOT_ENOUGH_FREE_MEMORY [vm] (one parameter, as xapi does here).
 */
export function planEvacuation(world: World, db: PoolDb, host: HostRow): EvacuationPlan {
  const candidates = [...db.hosts.values()].filter(
    (h) => h.ref !== host.ref && h.enabled && h.live && world.machineByUuid(h.uuid)?.reachable === true,
  );
  const free = new Map<string, number>();
  for (const h of candidates) free.set(h.ref, hostFreeBytes(db, h.ref, world.machineByUuid(h.uuid)?.facts));
  const plan: EvacuationPlan = { moves: [], errors: new Map() };
  for (const vm of guestsToMove(db, host)) {
    const opError = vmOperationError(vm);
    if (opError) {
      plan.errors.set(vm.ref, opError);
      continue;
    }
    if (candidates.length === 0) {
      plan.errors.set(vm.ref, ["NO_HOSTS_AVAILABLE", vm.ref]);
      continue;
    }
    if (vm.localSrRef !== null) {
      plan.errors.set(vm.ref, ["VM_REQUIRES_SR", vm.ref, vm.localSrRef]);
      continue;
    }
    const compatible = candidates.filter((h) => cpuError(world, db, vm, h) === null);
    const firstCandidate = candidates[0];
    if (compatible.length === 0 && firstCandidate) {
      plan.errors.set(vm.ref, cpuError(world, db, vm, firstCandidate) ?? ["NO_HOSTS_AVAILABLE", vm.ref]);
      continue;
    }
    const needed = vmNeededBytes(vm);
    let best: HostRow | undefined;
    for (const h of compatible) {
      const f = free.get(h.ref) ?? 0;
      if (f >= needed && (!best || f > (free.get(best.ref) ?? 0))) best = h;
    }
    if (!best) {
      plan.errors.set(vm.ref, ["HOST_NOT_ENOUGH_FREE_MEMORY", vm.ref]);
      continue;
    }
    free.set(best.ref, (free.get(best.ref) ?? 0) - needed);
    plan.moves.push({ vm, target: best });
  }
  return plan;
}

/**
 * host.evacuate: fails with the first plan error, otherwise migrates in
 * batches (all VMs of a batch concurrently, sharing the source link), then
 * checks nothing is left behind.
 */
export async function runEvacuation(
  world: World,
  db: PoolDb,
  host: HostRow,
  batchSize: number,
  masterRef: string,
  onProgress: (fraction: number) => void,
): Promise<void> {
  const plan = planEvacuation(world, db, host);
  const firstError = plan.errors.values().next();
  if (!firstError.done) {
    const [code, ...params] = firstError.value;
    fail(code ?? "INTERNAL_ERROR", ...params);
  }
  const size = batchSize > 0 ? batchSize : DEFAULT_EVACUATION_BATCH;
  const total = plan.moves.length;
  let done = 0;
  for (let i = 0; i < plan.moves.length; i += size) {
    const batch = plan.moves.slice(i, i + size);
    const results = await Promise.allSettled(
      batch.map(async ({ vm, target }) => {
        const task = createTask(db, "Async.VM.pool_migrate", masterRef);
        try {
          const reserved = assertCanMigrate(world, db, vm, target, false);
          await runMigration(world, db, vm, target, task, reserved);
        } finally {
          db.tasks.delete(task.ref);
          done += 1;
          onProgress(total === 0 ? 1 : done / total);
        }
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) {
      const [code, ...params] = describeError(failed.reason);
      throw new XapiError(code ?? "INTERNAL_ERROR", params);
    }
  }
  const left = db.residentGuests(host.ref).length;
  if (left > 0) fail("INTERNAL_ERROR", `evacuate: ${left} VMs are still resident on ${host.ref}`);
}
