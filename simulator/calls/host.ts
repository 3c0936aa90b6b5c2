/**
 * The host, host_metrics and SR classes: reads, host.enable/disable, free memory, evacuation
 * (plan, checks, run), reboot, the server time, the emergency-mode query and host.destroy
 * (docs/xenapi-notes.md §Host maintenance).
 */
import { scheduleReboot } from "../lifecycle/toolstack.js";
import { planEvacuation, runEvacuation } from "../migration/evacuation.js";
import { hostMetricsRecord, hostRecord, HOST_FIELDS, HOST_METRICS_FIELDS } from "../records/host-record.js";
import { srRecord, SR_FIELDS } from "../records/sr-record.js";
import { hostFreeBytes } from "../state/memory.js";
import type { PoolDb } from "../state/pool-db.js";
import type { HostRow, SrRow } from "../state/rows.js";
import { fail } from "../xapi-error.js";
import type { XapiValue } from "../xmlrpc-codec.js";
import type { World } from "../world.js";
import { argBool, argInt, argString } from "./args.js";
import { lookupOrFail, registerClassReads, type ClassDef } from "./classes.js";
import type { Registry } from "./registry.js";

/** The host class. */
export const HOST_CLASS: ClassDef<HostRow> = {
  name: "host",
  all: (db) => db.hosts.values(),
  get: (db, ref) => db.hosts.get(ref),
  refOf: (r) => r.ref,
  uuidOf: (r) => r.uuid,
  nameOf: (r) => r.nameLabel,
  record: (ctx, db, r) => hostRecord(ctx.world, db, r),
  fields: HOST_FIELDS,
};

/** host_metrics: one per host record, keyed by the host's metrics ref. */
export const HOST_METRICS_CLASS: ClassDef<HostRow> = {
  name: "host_metrics",
  all: (db) => db.hosts.values(),
  get: (db, ref) => [...db.hosts.values()].find((h) => h.metricsRef === ref),
  refOf: (r) => r.metricsRef,
  uuidOf: (r) => r.metricsUuid,
  record: (ctx, db, r) => hostMetricsRecord(ctx.world, db, r),
  fields: HOST_METRICS_FIELDS,
};

/** Storage repositories (local SRs, optional shared SR). */
export const SR_CLASS: ClassDef<SrRow> = {
  name: "SR",
  all: (db) => db.srs.values(),
  get: (db, ref) => db.srs.get(ref),
  refOf: (r) => r.ref,
  uuidOf: (r) => r.uuid,
  nameOf: (r) => r.nameLabel,
  record: (_ctx, _db, r) => srRecord(r),
  fields: SR_FIELDS,
};

/** Host-specific work is forwarded to the host: it must be live and reachable. */
function assertHostLive(world: World, host: HostRow): void {
  if (!host.live || !world.machineByUuid(host.uuid)?.reachable) fail("HOST_OFFLINE", host.ref);
}

/** `{vm: [code, params…]}` for every VM that prevents evacuation. */
function preventingVms(world: World, db: PoolDb, host: HostRow): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [vm, error] of planEvacuation(world, db, host).errors) out[vm] = error;
  return out;
}

/** host.*, host_metrics.* and SR.* messages. */
export function registerHostCalls(reg: Registry): void {
  registerClassReads(reg, HOST_CLASS);
  registerClassReads(reg, HOST_METRICS_CLASS);
  registerClassReads(reg, SR_CLASS);
  reg.add({
    name: "host.enable",
    params: ["host"],
    session: "normal",
    async: true,
    handler: (ctx, args) => {
      const db = ctx.db();
      const host = lookupOrFail(HOST_CLASS, db, argString(args, 0, "host"));
      assertHostLive(ctx.world, host);
      if (!host.enabled && ctx.world.machineByUuid(host.uuid)?.disabledUntilReboot) fail("HOST_DISABLED_UNTIL_REBOOT", host.ref);
      host.enabled = true;
      host.autoEnable = true;
      ctx.world.changed();
      return "";
    },
  });
  reg.add({
    name: "host.disable",
    params: ["host", "auto_enable"],
    optional: 1,
    session: "normal",
    async: true,
    handler: (ctx, args) => {
      const db = ctx.db();
      const hostRef = argString(args, 0, "host");
      const autoEnable = argBool(args, 1, "auto_enable", true);
      const host = lookupOrFail(HOST_CLASS, db, hostRef);
      assertHostLive(ctx.world, host);
      host.enabled = false;
      host.autoEnable = autoEnable;
      ctx.world.changed();
      return "";
    },
  });
  reg.add({
    name: "host.compute_free_memory",
    params: ["host"],
    session: "normal",
    async: true,
    handler: (ctx, args) => {
      const db = ctx.db();
      const host = lookupOrFail(HOST_CLASS, db, argString(args, 0, "host"));
      return hostFreeBytes(db, host.ref, ctx.world.machineByUuid(host.uuid)?.facts);
    },
  });
  reg.add({
    name: "host.get_vms_which_prevent_evacuation",
    params: ["self"],
    session: "normal",
    async: true,
    handler: (ctx, args) => {
      const db = ctx.db();
      const host = lookupOrFail(HOST_CLASS, db, argString(args, 0, "self"));
      return preventingVms(ctx.world, db, host) as Record<string, XapiValue>;
    },
  });
  reg.add({
    name: "host.assert_can_evacuate",
    params: ["host"],
    session: "normal",
    async: true,
    handler: (ctx, args) => {
      const db = ctx.db();
      const host = lookupOrFail(HOST_CLASS, db, argString(args, 0, "host"));
      const errors = Object.values(preventingVms(ctx.world, db, host));
      if (errors.length > 0) fail("CANNOT_EVACUATE_HOST", errors.map((e) => e.join(",")).join("|"));
      return "";
    },
  });
  reg.add({
    name: "host.evacuate",
    params: ["host", "network", "evacuate_batch_size"],
    optional: 2,
    session: "normal",
    async: true,
    handler: async (ctx, args) => {
      const db = ctx.db();
      const hostRef = argString(args, 0, "host");
      if (args[1] !== undefined) argString(args, 1, "network");
      const batch = argInt(args, 2, "evacuate_batch_size", 0);
      const host = lookupOrFail(HOST_CLASS, db, hostRef);
      assertHostLive(ctx.world, host);
      const task = ctx.task;
      await runEvacuation(ctx.world, db, host, batch, ctx.localHostRef(), (fraction) => {
        if (task) task.progress = fraction;
      });
      return "";
    },
  });
  reg.add({
    name: "host.reboot",
    params: ["host"],
    session: "normal",
    async: true,
    handler: (ctx, args) => {
      const db = ctx.db();
      const host = lookupOrFail(HOST_CLASS, db, argString(args, 0, "host"));
      assertHostLive(ctx.world, host);
      // xapi_host.ml assert_bacon_mode: disabled, and no running guest resident.
      if (host.enabled) fail("HOST_NOT_DISABLED");
      const running = db.residentGuests(host.ref).find((vm) => vm.powerState === "Running");
      if (running) fail("HOST_IN_USE", host.ref, "vm", running.ref);
      const machine = ctx.world.machineByUuid(host.uuid)!;
      machine.disabledUntilReboot = true;
      // The call returns; the reboot itself starts after the fuse (xapi: a 10 s delay, then shutdown -r).
      scheduleReboot(ctx.world, machine, ctx.world.durations.bootMs);
      ctx.world.changed();
      return "";
    },
  });
  reg.add({
    name: "host.get_servertime",
    params: ["host"],
    session: "normal",
    handler: (ctx, args) => {
      lookupOrFail(HOST_CLASS, ctx.db(), argString(args, 0, "host"));
      return new Date();
    },
  });
  reg.add({
    name: "host.is_in_emergency_mode",
    params: [],
    session: "any",
    emergency: true,
    handler: (ctx) => ctx.machine.emergency !== null,
  });
  reg.add({
    name: "host.destroy",
    params: ["self"],
    session: "normal",
    handler: (ctx, args) => {
      const db = ctx.db();
      const host = lookupOrFail(HOST_CLASS, db, argString(args, 0, "self"));
      if (host.live || host.ref === db.pool.masterRef) fail("HOST_IS_LIVE", host.ref);
      if (db.residentGuests(host.ref).length > 0) fail("HOST_HAS_RESIDENT_VMS", host.ref);
      const dom0 = db.controlDomainOf(host.ref);
      if (dom0) db.vms.delete(dom0.ref);
      const sr = db.localSrOf(host.uuid);
      if (sr) db.srs.delete(sr.ref);
      db.hosts.delete(host.ref);
      ctx.world.changed();
      return "";
    },
  });
}
