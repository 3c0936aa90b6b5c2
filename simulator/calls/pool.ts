/**
 * The pool class: reads and setters, pool.eject, designate_new_master, recover_slaves and the
 * emergency calls (docs/xenapi-notes.md §Pool eject, §Designate new master, §Master failure and
 * emergency calls).
 */
import { scheduleReboot, scheduleRestart } from "../lifecycle/toolstack.js";
import { poolRecord, POOL_FIELDS } from "../records/pool-record.js";
import type { Machine } from "../state/machine.js";
import type { PoolDb } from "../state/pool-db.js";
import type { HostRow, PoolRow } from "../state/rows.js";
import { fail } from "../xapi-error.js";
import type { World } from "../world.js";
import { argString } from "./args.js";
import type { CallContext } from "./context.js";
import { lookupOrFail, registerClassReads, type ClassDef } from "./classes.js";
import { HOST_CLASS } from "./host.js";
import type { Registry } from "./registry.js";

/** The pool class: exactly one pool per database. */
export const POOL_CLASS: ClassDef<PoolRow> = {
  name: "pool",
  all: (db) => [db.pool],
  get: (db, ref) => (ref === db.pool.ref ? db.pool : undefined),
  refOf: (r) => r.ref,
  uuidOf: (r) => r.uuid,
  nameOf: (r) => r.nameLabel,
  record: (ctx, db) => poolRecord(ctx.world, db),
  fields: POOL_FIELDS,
};

/** HA is modelled as a fact of the master (pool.ha_enabled). */
export function poolHaEnabled(world: World, db: PoolDb): boolean {
  const master = db.masterRow();
  return master ? (world.machineByUuid(master.uuid)?.facts.haEnabled ?? false) : false;
}

function poolArg(ctx: CallContext, args: unknown[]): PoolRow {
  return lookupOrFail(POOL_CLASS, ctx.db(), argString(args, 0, "self"));
}

/** Eject preconditions in xapi's order. */
function assertCanEject(world: World, db: PoolDb, host: HostRow): Machine {
  if (host.ref === db.pool.masterRef) fail("INTERNAL_ERROR", "Xapi_pool.Cannot_eject_master");
  const machine = world.machineByUuid(host.uuid);
  if (!host.live || !machine?.reachable) fail("HOST_OFFLINE", host.ref);
  if (poolHaEnabled(world, db)) fail("HA_IS_ENABLED");
  if (db.residentGuests(host.ref).some((vm) => vm.powerState !== "Halted")) {
    fail("OPERATION_NOT_ALLOWED", "VM resident on host");
  }
  return machine;
}

/** Removes a host and the objects only it had from a database. */
function forgetHost(db: PoolDb, host: HostRow): void {
  const dom0 = db.controlDomainOf(host.ref);
  if (dom0) db.vms.delete(dom0.ref);
  const sr = db.localSrOf(host.uuid);
  if (sr) db.srs.delete(sr.ref);
  db.hosts.delete(host.ref);
}

/** Repoints a host at `address` (pool.emergency_reset_master): restart after the fuse unless already there. */
export function resetMaster(world: World, machine: Machine, address: string): void {
  if (machine.facts.haEnabled) fail("HA_IS_ENABLED");
  const conf = machine.poolConf;
  if (conf.role === "slave" && conf.masterAddress === address && machine.connected) return;
  machine.poolConf = { role: "slave", masterAddress: address };
  scheduleRestart(world, machine);
  world.changed();
}

/** pool.* messages except join (pool-join.ts). */
export function registerPoolCalls(reg: Registry): void {
  registerClassReads(reg, POOL_CLASS);
  const setters: [string, (p: PoolRow, v: string) => void][] = [
    ["pool.set_name_label", (p, v) => (p.nameLabel = v)],
    ["pool.set_name_description", (p, v) => (p.nameDescription = v)],
  ];
  for (const [name, set] of setters) {
    reg.add({
      name,
      params: ["self", "value"],
      session: "normal",
      handler: (ctx, args) => {
        const pool = poolArg(ctx, args);
        set(pool, argString(args, 1, "value"));
        ctx.world.changed();
        return "";
      },
    });
  }
  reg.add({
    name: "pool.add_to_other_config",
    params: ["self", "key", "value"],
    session: "normal",
    handler: (ctx, args) => {
      const pool = poolArg(ctx, args);
      const key = argString(args, 1, "key");
      if (key in pool.otherConfig) fail("MAP_DUPLICATE_KEY", "pool", "other_config", pool.ref, key);
      pool.otherConfig[key] = argString(args, 2, "value");
      ctx.world.changed();
      return "";
    },
  });
  reg.add({
    name: "pool.remove_from_other_config",
    params: ["self", "key"],
    session: "normal",
    handler: (ctx, args) => {
      const pool = poolArg(ctx, args);
      delete pool.otherConfig[argString(args, 1, "key")];
      ctx.world.changed();
      return "";
    },
  });
  reg.add({
    name: "pool.eject",
    params: ["host"],
    session: "normal",
    async: true,
    handler: async (ctx, args) => {
      const { world } = ctx;
      const db = ctx.db();
      const ref = argString(args, 0, "host");
      lookupOrFail(HOST_CLASS, db, ref);
      if (db.designateInProgress) fail("DESIGNATE_NEW_MASTER_IN_PROGRESS");
      return db.withPoolOperation("eject", async () => {
        ctx.assertAlive();
        assertCanEject(world, db, lookupOrFail(HOST_CLASS, db, ref));
        await world.clock.sleep(world.durations.ejectMs);
        ctx.assertAlive();
        const host = lookupOrFail(HOST_CLASS, db, ref);
        const machine = assertCanEject(world, db, host);
        forgetHost(db, host);
        machine.poolConf = { role: "master" };
        machine.wipeOnBoot = true;
        scheduleReboot(world, machine);
        world.changed();
        return "";
      });
    },
  });
  reg.add({
    name: "pool.designate_new_master",
    params: ["host"],
    session: "normal",
    async: true,
    handler: async (ctx, args) => {
      const { world, machine: oldMaster } = ctx;
      const db = ctx.db();
      const host = lookupOrFail(HOST_CLASS, db, argString(args, 0, "host"));
      if (host.ref === db.pool.masterRef) return "";
      if (db.designateInProgress) fail("DESIGNATE_NEW_MASTER_IN_PROGRESS");
      if (poolHaEnabled(world, db)) fail("HA_IS_ENABLED");
      const target = world.machineByUuid(host.uuid);
      if (!host.live || !target?.reachable || !target.connected) fail("HOST_OFFLINE", host.ref);
      db.designateInProgress = true;
      world.changed();
      try {
        await world.clock.sleep(world.durations.designateMs);
        ctx.assertAlive();
        if (!target.reachable || !target.connected || !db.hosts.has(host.ref)) fail("CANNOT_CONTACT_HOST", host.ref);
      } catch (error) {
        db.designateInProgress = false;
        world.changed();
        throw error;
      }
      // Commit: every host of the pool database that is up rewrites pool.conf, then restarts after the
      // fuse (old master first). Like xapi (Db.Host.get_all), the members come from the database, not
      // from the machines that happen to be connected: a host ejected moments ago is no longer a member.
      const members: Machine[] = [oldMaster];
      for (const row of db.hosts.values()) {
        const m = world.machineByUuid(row.uuid);
        if (m && m !== oldMaster && m.reachable && m.role === "slave" && m.connected && m.dbId === db.id) members.push(m);
      }
      for (const m of members) {
        m.poolConf = m === target ? { role: "master" } : { role: "slave", masterAddress: target.address };
        scheduleRestart(world, m);
      }
      world.changed();
      return "";
    },
  });
  reg.add({
    name: "pool.recover_slaves",
    params: [],
    session: "normal",
    async: true,
    handler: (ctx) => {
      const db = ctx.db();
      const recovered: string[] = [];
      for (const row of db.hosts.values()) {
        if (row.uuid === ctx.machine.uuid) continue;
        const m = ctx.world.machineByUuid(row.uuid);
        if (!m?.reachable) continue;
        try {
          resetMaster(ctx.world, m, ctx.machine.address);
          recovered.push(row.ref);
        } catch {
          // unreachable or refusing hosts are skipped, like xapi
        }
      }
      return recovered;
    },
  });
  reg.add({
    name: "pool.emergency_transition_to_master",
    params: [],
    session: "any",
    emergency: true,
    handler: (ctx) => {
      const m = ctx.machine;
      if (m.role === "master" && m.poolConf.role === "master") return "";
      if (m.facts.haEnabled) fail("HA_IS_ENABLED");
      m.poolConf = { role: "master" };
      scheduleRestart(ctx.world, m);
      ctx.world.changed();
      return "";
    },
  });
  reg.add({
    name: "pool.emergency_reset_master",
    params: ["master_address"],
    session: "any",
    emergency: true,
    handler: (ctx, args) => {
      resetMaster(ctx.world, ctx.machine, argString(args, 0, "master_address"));
      return "";
    },
  });
}
