/**
 * pool.join and pool.join_force on the joining host: login to the master, the pre-join checks in
 * xapi's order, the metadata copy and the restart as a slave (docs/xenapi-notes.md §Pool join).
 */
import { applyFault } from "../faults.js";
import { NULL_REF, newRef } from "../ids.js";
import { scheduleRestart } from "../lifecycle/toolstack.js";
import { apiVersionString } from "../state/facts.js";
import type { Machine } from "../state/machine.js";
import type { PoolDb } from "../state/pool-db.js";
import { addHostRow, ensureLocalSr } from "../state/standalone.js";
import { XapiError, fail } from "../xapi-error.js";
import type { World } from "../world.js";
import { argString } from "./args.js";
import type { CallContext } from "./context.js";
import { poolHaEnabled } from "./pool.js";
import type { Registry } from "./registry.js";
import { authenticate } from "./session.js";

/** Step 2 of join: the joiner logs in to the master address; errors propagate as-is. */
async function loginToMaster(world: World, address: string, user: string, password: string): Promise<Machine> {
  const target = world.machineByAddress(address);
  if (!target?.reachable) fail("JOINING_HOST_CONNECTION_FAILED");
  const fault = await applyFault(world, target, "session.login_with_password");
  const faultError = fault.error ?? fault.midway;
  if (faultError) throw new XapiError(faultError[0] ?? "INTERNAL_ERROR", faultError.slice(1));
  if (!target.reachable) fail("JOINING_HOST_CONNECTION_FAILED");
  if (target.emergency) throw new XapiError(target.emergency[0] ?? "INTERNAL_ERROR", target.emergency.slice(1));
  if (target.role === "slave") {
    fail("HOST_IS_SLAVE", target.poolConf.role === "slave" ? target.poolConf.masterAddress : "");
  }
  await authenticate(world, user, password);
  if (!target.reachable) fail("JOINING_HOST_CONNECTION_FAILED");
  return target;
}

/** Step 3: pre-join checks in xapi's order (first failure wins). */
function preJoinChecks(world: World, joiner: Machine, joinerDb: PoolDb, master: Machine, masterDb: PoolDb, force: boolean): void {
  const mine = joiner.facts;
  const theirs = master.facts;
  if (mine.haEnabled) fail("HA_IS_ENABLED");
  if (poolHaEnabled(world, masterDb)) fail("HA_IS_ENABLED");
  if (master === joiner) {
    fail("OPERATION_NOT_ALLOWED", joinerDb.hosts.size > 1 ? "Host is already part of a pool" : "Host cannot become slave of itself");
  }
  if (joinerDb.hosts.size > 1) fail("JOINING_HOST_CANNOT_BE_MASTER_OF_OTHER_HOSTS");
  const guests = [...joinerDb.vms.values()].filter((vm) => !vm.isControlDomain);
  if (guests.some((vm) => vm.powerState === "Running")) fail("JOINING_HOST_CANNOT_HAVE_RUNNING_VMS");
  if (guests.some((vm) => Object.keys(vm.currentOperations).length > 0)) {
    fail("JOINING_HOST_CANNOT_HAVE_VMS_WITH_CURRENT_OPERATIONS");
  }
  if (mine.platformVersion !== theirs.platformVersion || mine.productBrand !== theirs.productBrand) {
    fail("HOSTS_NOT_COMPATIBLE");
  }
  if (!force) {
    if (mine.softwareVersion !== theirs.softwareVersion) fail("HOSTS_NOT_HOMOGENEOUS", "Software version differs");
    if (mine.cpuVendor !== theirs.cpuVendor) fail("HOSTS_NOT_HOMOGENEOUS", "CPUs differ");
  }
  if (mine.hasSharedSr) fail("JOINING_HOST_CANNOT_CONTAIN_SHARED_SRS");
  if (apiVersionString(mine) !== apiVersionString(theirs)) {
    fail("POOL_JOINING_HOST_MUST_HAVE_SAME_API_VERSION", apiVersionString(mine), apiVersionString(theirs));
  }
  if (mine.dbSchema !== theirs.dbSchema) fail("POOL_JOINING_HOST_MUST_HAVE_SAME_DB_SCHEMA", mine.dbSchema, theirs.dbSchema);
}

/**
 * Step 4: best-effort metadata copy. The master gets a host record
 * (enabled=false, live=false, memory_total=0, reused if the uuid is known),
 * the joiner's local SR, and its halted/suspended VMs and user templates.
 */
function copyMetadata(joiner: Machine, joinerDb: PoolDb, masterDb: PoolDb): void {
  if (!masterDb.hostByUuid(joiner.uuid)) addHostRow(masterDb, joiner, { enabled: false, live: false, memoryKnown: false });
  const oldLocal = joinerDb.localSrOf(joiner.uuid);
  const newLocal = ensureLocalSr(masterDb, joiner);
  const known = new Set([...masterDb.vms.values()].map((vm) => vm.uuid));
  for (const vm of joinerDb.vms.values()) {
    if (vm.isControlDomain || vm.isDefaultTemplate || known.has(vm.uuid)) continue;
    const copy = structuredClone(vm);
    copy.ref = newRef();
    if (copy.powerState === "Paused" || copy.powerState === "Running") copy.powerState = "Halted";
    copy.residentOn = NULL_REF;
    copy.domid = -1;
    copy.currentOperations = {};
    copy.migration = null;
    if (copy.localSrRef !== null && oldLocal && copy.localSrRef === oldLocal.ref) copy.localSrRef = newLocal.ref;
    masterDb.vms.set(copy.ref, copy);
  }
}

async function join(ctx: CallContext, args: unknown[], force: boolean): Promise<string> {
  const { world, machine: joiner } = ctx;
  const address = argString(args, 0, "master_address");
  const user = argString(args, 1, "master_username");
  const password = argString(args, 2, "master_password");
  const joinerDb = ctx.db();
  const master = await loginToMaster(world, address, user, password);
  ctx.assertAlive();
  const masterDb = world.dbOf(master) ?? fail("JOINING_HOST_SERVICE_FAILED");
  preJoinChecks(world, joiner, joinerDb, master, masterDb, force);
  if (ctx.takeMidwayFault()) {
    // A join that fails after its toolstack restart: the call answers, the host restarts, cannot
    // complete the join and rolls back — it comes back standalone and the master never keeps it.
    scheduleRestart(world, joiner);
    world.changed();
    return "";
  }
  copyMetadata(joiner, joinerDb, masterDb);
  // Step 5: pool.conf now points at the master; the toolstack restarts after the fuse.
  joiner.poolConf = { role: "slave", masterAddress: address };
  scheduleRestart(world, joiner);
  world.changed();
  return "";
}

/** pool.join and pool.join_force (sent to the joining standalone host). */
export function registerPoolJoinCalls(reg: Registry): void {
  reg.add({
    name: "pool.join",
    params: ["master_address", "master_username", "master_password"],
    session: "normal",
    async: true,
    handler: (ctx, args) => join(ctx, args, false),
  });
  reg.add({
    name: "pool.join_force",
    params: ["master_address", "master_username", "master_password"],
    session: "normal",
    async: true,
    handler: (ctx, args) => join(ctx, args, true),
  });
}
