/**
 * The VM class: reads, VM.pool_migrate, start/start_on, the shutdowns and power_state_reset
 * (docs/xenapi-notes.md §VM.pool_migrate).
 */
import { NULL_REF } from "../ids.js";
import { assertCanMigrate, destinationError, runMigration } from "../migration/migrate-vm.js";
import { vmRecord, VM_FIELDS } from "../records/vm-record.js";
import { hostFreeBytes, vmNeededBytes } from "../state/memory.js";
import type { PoolDb } from "../state/pool-db.js";
import type { HostRow, VmRow } from "../state/rows.js";
import { XapiError, fail } from "../xapi-error.js";
import type { World } from "../world.js";
import { argBool, argString, argStringMap } from "./args.js";
import { lookupOrFail, registerClassReads, type ClassDef } from "./classes.js";
import type { Registry } from "./registry.js";
import { HOST_CLASS } from "./host.js";

/** The VM class (guests, templates and control domains). */
export const VM_CLASS: ClassDef<VmRow> = {
  name: "VM",
  all: (db) => db.vms.values(),
  get: (db, ref) => db.vms.get(ref),
  refOf: (r) => r.ref,
  uuidOf: (r) => r.uuid,
  nameOf: (r) => r.nameLabel,
  record: (_ctx, _db, r) => vmRecord(r),
  fields: VM_FIELDS,
};

function nextDomid(db: PoolDb): number {
  let max = 0;
  for (const vm of db.vms.values()) max = Math.max(max, vm.domid);
  return max + 1;
}

function assertCanStartOn(world: World, db: PoolDb, vm: VmRow, host: HostRow): void {
  const error = destinationError(db, { ...vm, residentOn: NULL_REF }, host);
  if (error) throw new XapiError(error[0] ?? "INTERNAL_ERROR", error.slice(1));
  const needed = vmNeededBytes(vm);
  const available = hostFreeBytes(db, host.ref, world.machineByUuid(host.uuid)?.facts);
  if (needed > available) fail("HOST_NOT_ENOUGH_FREE_MEMORY", String(needed), String(available));
  if (!world.machineByUuid(host.uuid)?.reachable) fail("HOST_OFFLINE", host.ref);
}

function assertHaltedGuest(vm: VmRow): void {
  if (vm.isControlDomain) fail("OPERATION_NOT_ALLOWED", "This operation is not allowed on a control domain");
  if (vm.powerState !== "Halted") fail("VM_BAD_POWER_STATE", vm.ref, "halted", vm.powerState.toLowerCase());
  if (vm.isTemplate) fail("VM_IS_TEMPLATE", vm.ref);
  const op = Object.entries(vm.currentOperations)[0];
  if (op) fail("OTHER_OPERATION_IN_PROGRESS", "VM", vm.ref, op[1], op[0]);
}

function boot(db: PoolDb, vm: VmRow, host: HostRow, paused: boolean): void {
  vm.powerState = paused ? "Paused" : "Running";
  vm.residentOn = host.ref;
  vm.domid = nextDomid(db);
}

/** VM.* messages: generic reads, pool_migrate, start/start_on/shutdown, power_state_reset. */
export function registerVmCalls(reg: Registry): void {
  registerClassReads(reg, VM_CLASS);
  reg.add({
    name: "VM.pool_migrate",
    params: ["vm", "host", "options"],
    session: "normal",
    async: true,
    handler: async (ctx, args) => {
      const db = ctx.db();
      const vmRef = argString(args, 0, "vm");
      const hostRef = argString(args, 1, "host");
      const options = argStringMap(args, 2, "options");
      const vm = lookupOrFail(VM_CLASS, db, vmRef);
      const host = lookupOrFail(HOST_CLASS, db, hostRef);
      const reserved = assertCanMigrate(ctx.world, db, vm, host, options["force"] === "true");
      await runMigration(ctx.world, db, vm, host, ctx.ownTask("VM.pool_migrate"), reserved, ctx.takeMidwayFault());
      return "";
    },
  });
  reg.add({
    name: "VM.start_on",
    params: ["vm", "host", "start_paused", "force"],
    session: "normal",
    async: true,
    handler: (ctx, args) => {
      const db = ctx.db();
      const vmRef = argString(args, 0, "vm");
      const hostRef = argString(args, 1, "host");
      const paused = argBool(args, 2, "start_paused");
      argBool(args, 3, "force");
      const vm = lookupOrFail(VM_CLASS, db, vmRef);
      const host = lookupOrFail(HOST_CLASS, db, hostRef);
      assertHaltedGuest(vm);
      assertCanStartOn(ctx.world, db, vm, host);
      boot(db, vm, host, paused);
      ctx.world.changed();
      return "";
    },
  });
  reg.add({
    name: "VM.start",
    params: ["vm", "start_paused", "force"],
    session: "normal",
    async: true,
    handler: (ctx, args) => {
      const db = ctx.db();
      const vmRef = argString(args, 0, "vm");
      const paused = argBool(args, 1, "start_paused");
      argBool(args, 2, "force");
      const vm = lookupOrFail(VM_CLASS, db, vmRef);
      assertHaltedGuest(vm);
      const hosts = [...db.hosts.values()].sort(
        (a, b) =>
          hostFreeBytes(db, b.ref, ctx.world.machineByUuid(b.uuid)?.facts) -
          hostFreeBytes(db, a.ref, ctx.world.machineByUuid(a.uuid)?.facts),
      );
      let firstError: unknown = new XapiError("NO_HOSTS_AVAILABLE", []);
      for (const host of hosts) {
        try {
          assertCanStartOn(ctx.world, db, vm, host);
          boot(db, vm, host, paused);
          ctx.world.changed();
          return "";
        } catch (error) {
          if (host === hosts[0]) firstError = error;
        }
      }
      throw firstError;
    },
  });
  for (const name of ["VM.clean_shutdown", "VM.hard_shutdown"]) {
    reg.add({
      name,
      params: ["vm"],
      session: "normal",
      async: true,
      handler: (ctx, args) => {
        const db = ctx.db();
        const vm = lookupOrFail(VM_CLASS, db, argString(args, 0, "vm"));
        if (vm.isControlDomain) fail("OPERATION_NOT_ALLOWED", "This operation is not allowed on a control domain");
        const allowed = name === "VM.hard_shutdown" ? ["Running", "Paused", "Suspended"] : ["Running"];
        if (!allowed.includes(vm.powerState)) fail("VM_BAD_POWER_STATE", vm.ref, "running", vm.powerState.toLowerCase());
        const op = Object.entries(vm.currentOperations)[0];
        if (op) fail("OTHER_OPERATION_IN_PROGRESS", "VM", vm.ref, op[1], op[0]);
        vm.powerState = "Halted";
        vm.residentOn = NULL_REF;
        vm.domid = -1;
        ctx.world.changed();
        return "";
      },
    });
  }
  reg.add({
    name: "VM.power_state_reset",
    params: ["vm"],
    session: "normal",
    handler: (ctx, args) => {
      const db = ctx.db();
      const vm = lookupOrFail(VM_CLASS, db, argString(args, 0, "vm"));
      if (vm.isControlDomain) fail("OPERATION_NOT_ALLOWED", "This operation is not allowed on a control domain");
      vm.powerState = "Halted";
      vm.residentOn = NULL_REF;
      vm.domid = -1;
      vm.currentOperations = {};
      ctx.world.changed();
      return "";
    },
  });
}
