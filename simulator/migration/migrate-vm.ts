/**
 * VM.pool_migrate: its preconditions in xapi's order, a migration's run (setup, memory over the
 * source link, downtime), and settling migrations found in a reloaded state file
 * (docs/xenapi-notes.md §VM.pool_migrate).
 */
import { NULL_REF } from "../ids.js";
import { hostFreeBytes, vmNeededBytes } from "../state/memory.js";
import type { PoolDb } from "../state/pool-db.js";
import type { HostRow, TaskRow, VmRow } from "../state/rows.js";
import { XapiError, fail } from "../xapi-error.js";
import type { World } from "../world.js";
import type { Transfer } from "./link-scheduler.js";

const INCOMPATIBLE_REASON = "VM last booted on a CPU with features this host's CPU does not have.";

/** CPU check (skipped with force): the VM's current host and the target must share a CPU vendor. */
export function cpuError(world: World, db: PoolDb, vm: VmRow, target: HostRow): string[] | null {
  const source = db.hosts.get(vm.residentOn);
  if (!source) return null;
  const a = world.machineByUuid(source.uuid)?.facts.cpuVendor;
  const b = world.machineByUuid(target.uuid)?.facts.cpuVendor;
  if (a !== undefined && b !== undefined && a !== b) return ["VM_INCOMPATIBLE_WITH_THIS_HOST", vm.ref, target.ref, INCOMPATIBLE_REASON];
  return null;
}

/** VM-level validity of pool_migrate (xapi_vm_lifecycle order): power state, other op, template, dom0. */
export function vmOperationError(vm: VmRow): string[] | null {
  if (vm.powerState !== "Running") return ["VM_BAD_POWER_STATE", vm.ref, "running", vm.powerState.toLowerCase()];
  const ops = Object.entries(vm.currentOperations);
  const first = ops[0];
  if (first) return ["OTHER_OPERATION_IN_PROGRESS", "VM", vm.ref, first[1], first[0]];
  if (vm.isTemplate) return ["VM_IS_TEMPLATE", vm.ref];
  if (vm.isControlDomain) return ["OPERATION_NOT_ALLOWED", "This operation is not allowed on a control domain"];
  return null;
}

/** assert_can_boot_here without the memory check: live, enabled (unless local), storage. */
export function destinationError(db: PoolDb, vm: VmRow, target: HostRow): string[] | null {
  const local = vm.residentOn === target.ref;
  if (!target.live) return ["HOST_NOT_LIVE"];
  if (!local && !target.enabled) return ["HOST_DISABLED", target.ref];
  if (!local && vm.localSrRef !== null) {
    const sr = db.srs.get(vm.localSrRef);
    if (!sr || sr.shared || sr.hostUuid !== target.uuid) return ["VM_REQUIRES_SR", vm.ref, vm.localSrRef];
  }
  return null;
}

/**
 * All VM.pool_migrate preconditions in xapi's order; returns the bytes to
 * reserve on the target. Throws the first failing XenAPI error.
 */
export function assertCanMigrate(world: World, db: PoolDb, vm: VmRow, target: HostRow, force: boolean): number {
  const errors = [
    force ? null : cpuError(world, db, vm, target),
    vmOperationError(vm),
    destinationError(db, vm, target),
  ];
  for (const error of errors) if (error) throw new XapiError(error[0] ?? "INTERNAL_ERROR", error.slice(1));
  const needed = vmNeededBytes(vm);
  const available = hostFreeBytes(db, target.ref, world.machineByUuid(target.uuid)?.facts);
  if (needed > available) fail("HOST_NOT_ENOUGH_FREE_MEMORY", String(needed), String(available));
  const source = db.hosts.get(vm.residentOn);
  const sourceMachine = source ? world.machineByUuid(source.uuid) : undefined;
  if (!source || !sourceMachine?.reachable) fail("HOST_OFFLINE", vm.residentOn);
  if (!world.machineByUuid(target.uuid)?.reachable) fail("CANNOT_CONTACT_HOST", target.ref);
  return needed;
}

function nextDomid(db: PoolDb): number {
  let max = 0;
  for (const vm of db.vms.values()) max = Math.max(max, vm.domid);
  return max + 1;
}

/**
 * Runs a migration whose preconditions passed: reserves memory on the target,
 * waits the setup time, transfers the memory over the source host's shared
 * link, waits the downtime, then moves `resident_on`. Rejects with
 * VM_MIGRATE_FAILED when either host crashes, TASK_CANCELLED on task.cancel,
 * and `midwayError` (a scripted fault) once half of the memory is copied.
 */
export async function runMigration(
  world: World,
  db: PoolDb,
  vm: VmRow,
  target: HostRow,
  task: TaskRow,
  reservedBytes: number,
  midwayError: string[] | null = null,
): Promise<void> {
  const source = db.hosts.get(vm.residentOn);
  const sourceMachine = source ? world.machineByUuid(source.uuid) : undefined;
  if (!source || !sourceMachine) return fail("HOST_OFFLINE", vm.residentOn);
  const key = `${db.id}/${vm.ref}`;
  const controller = new AbortController();
  let transfer: Transfer | null = null;
  let transferred = false;
  const progress = (): number => (transferred ? 0.95 : transfer ? 0.05 + 0.9 * transfer.fraction() : 0);
  vm.currentOperations[task.ref] = "pool_migrate";
  vm.migration = { taskRef: task.ref, sourceRef: source.ref, targetRef: target.ref, reservedBytes };
  world.migrations.set(key, {
    dbId: db.id,
    vmRef: vm.ref,
    sourceUuid: source.uuid,
    targetUuid: target.uuid,
    abort: (reason) =>
      controller.abort(new XapiError("VM_MIGRATE_FAILED", [vm.ref, source.ref, target.ref, String(reason)])),
    progress,
  });
  world.taskProgress.set(task.ref, progress);
  world.taskCancellers.set(task.ref, () => controller.abort(new XapiError("TASK_CANCELLED", [task.ref])));
  world.changed();
  try {
    await world.clock.sleep(world.durations.migrationSetupMs, controller.signal);
    const current = world.links.start(sourceMachine.uuid, vm.memoryBytes);
    transfer = current;
    const onAbort = (): void => current.abort(controller.signal.reason);
    controller.signal.addEventListener("abort", onAbort, { once: true });
    if (midwayError) void failHalfWay(world, current, controller, midwayError);
    try {
      await current.done;
    } finally {
      controller.signal.removeEventListener("abort", onAbort);
    }
    transferred = true;
    await world.clock.sleep(world.durations.migrationDowntimeMs, controller.signal);
    if (db.vms.get(vm.ref) === vm && db.hosts.has(target.ref)) {
      vm.residentOn = target.ref;
      vm.domid = nextDomid(db);
    }
  } finally {
    delete vm.currentOperations[task.ref];
    vm.migration = null;
    world.migrations.delete(key);
    world.taskProgress.delete(task.ref);
    world.taskCancellers.delete(task.ref);
    world.changed();
  }
}

/** Aborts a migration with a scripted error once half of its memory is copied (or when it ends first). */
async function failHalfWay(world: World, transfer: Transfer, controller: AbortController, error: string[]): Promise<void> {
  let finished = false;
  void transfer.done.then(
    () => (finished = true),
    () => (finished = true),
  );
  const tick = Math.max(1, world.durations.migrationSetupMs / 20);
  while (!finished && !controller.signal.aborted && transfer.fraction() < 0.5) {
    await world.clock.sleep(tick, controller.signal).catch(() => undefined);
  }
  if (!controller.signal.aborted) controller.abort(new XapiError(error[0] ?? "INTERNAL_ERROR", error.slice(1)));
}

/** Completes a migration found in a reloaded state file (the VM lands on its target). */
export function settleMigration(db: PoolDb, vm: VmRow): void {
  const mig = vm.migration;
  if (!mig) return;
  if (db.hosts.has(mig.targetRef) && vm.powerState === "Running") {
    vm.residentOn = mig.targetRef;
    vm.domid = nextDomid(db);
  }
  const task = db.tasks.get(mig.taskRef);
  if (task && task.status === "pending") {
    task.status = "success";
    task.result = "<value></value>";
    task.progress = 1;
    task.finished = Date.now();
  }
  vm.migration = null;
  vm.currentOperations = {};
  if (vm.residentOn !== NULL_REF && !db.hosts.has(vm.residentOn)) vm.residentOn = NULL_REF;
}
