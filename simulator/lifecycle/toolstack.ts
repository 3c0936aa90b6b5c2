/**
 * Toolstack life cycle of simulated hosts: start (as master or slave, per
 * pool.conf), stop, restart after the fuse, reboot, crash (power off), boot,
 * slaves losing and regaining their master, and emergency mode
 * (docs/xenapi-notes.md §Toolstack restarts, §Emergency mode).
 */
import { NULL_REF, newUuid } from "../ids.js";
import type { Machine } from "../state/machine.js";
import type { PoolDb } from "../state/pool-db.js";
import { createStandaloneDb, ensureHostObjects } from "../state/standalone.js";
import type { World } from "../world.js";

function logError(machine: Machine, what: string, error: unknown): void {
  process.stderr.write(`fake-xapi: ${machine.name} (${machine.address}): ${what}: ${String(error)}\n`);
}

/** Why a slave cannot talk to its master; `ok` with the master's database otherwise. */
export type ConnectCheck = { ok: true; master: Machine; db: PoolDb } | { ok: false; error: string[] | null };

/** Can this slave reach its master (per pool.conf) and is it known there? */
export function checkMaster(world: World, slave: Machine): ConnectCheck {
  if (slave.poolConf.role !== "slave") return { ok: false, error: null };
  const master = world.machineByAddress(slave.poolConf.masterAddress);
  if (!master || master === slave || !master.activeMaster) return { ok: false, error: null };
  const db = world.dbOf(master);
  if (!db) return { ok: false, error: null };
  if (!db.hostByUuid(slave.uuid)) return { ok: false, error: ["HOST_UNKNOWN_TO_MASTER", slave.uuid] };
  return { ok: true, master, db };
}

/** The database a host that starts as master uses: its own, a taken-over one, a fork, or a fresh one. */
function resolveMasterDb(world: World, machine: Machine): PoolDb {
  const existing = world.dbOf(machine);
  const row = existing?.hostByUuid(machine.uuid);
  if (machine.wipeOnBoot || !existing || !row) {
    machine.wipeOnBoot = false;
    const db = createStandaloneDb(machine);
    world.dbs.set(db.id, db);
    return db;
  }
  if (existing.pool.masterRef === row.ref) return existing;
  const masterRow = existing.masterRow();
  const current = masterRow ? world.machineByUuid(masterRow.uuid) : undefined;
  if (
    current &&
    current !== machine &&
    current.activeMaster &&
    current.poolConf.role === "master" &&
    current.dbId === existing.id
  ) {
    // Split brain: the old master is still up with this database; diverge from a copy.
    const fork = existing.clone(newUuid());
    fork.pool.masterRef = row.ref;
    world.dbs.set(fork.id, fork);
    return fork;
  }
  existing.pool.masterRef = row.ref;
  return existing;
}

/**
 * `other_config` time stamps as xapi's start-up writes them: seconds since the epoch as a decimal
 * string. xapi writes OCaml's `string_of_float` of whole seconds (`"1764640000."`); the simulator
 * keeps milliseconds (`"1764640000.123"`) since at test time scales a host restarts twice a second.
 */
export function xapiEpochSeconds(ms: number): string {
  return Number.isInteger(ms / 1000) ? `${ms / 1000}.` : (ms / 1000).toFixed(3);
}

/** Marks a host connected in a database: live, memory known, enabled unless disabled for good. */
function markUp(db: PoolDb, machine: Machine): void {
  const row = db.hostByUuid(machine.uuid);
  if (!row) return;
  row.otherConfig.boot_time = xapiEpochSeconds(machine.bootedAt);
  row.otherConfig.agent_start_time = xapiEpochSeconds(machine.agentStartedAt);
  row.live = true;
  row.memoryKnown = true;
  if (row.autoEnable) row.enabled = true;
  row.lastUpdated = Date.now();
  ensureHostObjects(db, machine, row);
}

/** Connects a slave to its master if possible; otherwise starts the grace period (or emergency). */
function tryConnect(world: World, slave: Machine): void {
  const check = checkMaster(world, slave);
  if (check.ok) {
    slave.connected = true;
    slave.emergency = null;
    slave.cancel("grace");
    slave.cancel("retry");
    slave.dbId = check.db.id;
    markUp(check.db, slave);
    return;
  }
  slave.connected = false;
  if (check.error) {
    enterEmergency(world, slave, check.error);
    return;
  }
  if (!slave.hasTimer("grace") && slave.emergency === null) {
    slave.schedule(world.clock, "grace", world.durations.masterLostGraceMs, () => {
      if (slave.reachable && slave.role === "slave" && !slave.connected) {
        enterEmergency(world, slave, world.options.emergencyError);
        world.changed();
      }
    });
  }
}

/** Emergency mode: every non-emergency call fails with `error`; retry the master periodically. */
export function enterEmergency(world: World, slave: Machine, error: readonly string[]): void {
  slave.emergency = [...error];
  slave.connected = false;
  slave.cancel("grace");
  const retry = (): void => {
    if (!slave.reachable || slave.emergency === null) return;
    if (checkMaster(world, slave).ok) {
      void restartToolstack(world, slave, world.durations.restartMs);
    } else {
      slave.schedule(world.clock, "retry", world.durations.emergencyRetryMs, retry);
    }
  };
  slave.schedule(world.clock, "retry", world.durations.emergencyRetryMs, retry);
}

/** Starts the toolstack: master or slave according to pool.conf. Opens the endpoint. */
export function startToolstack(world: World, machine: Machine): void {
  if (!machine.poweredOn || world.closed) return;
  machine.toolstack = "up";
  machine.agentStartedAt = Date.now();
  machine.sessions.clear();
  machine.emergency = null;
  machine.connected = false;
  machine.endpoint.open().catch((error: unknown) => logError(machine, "cannot listen", error));
  if (machine.poolConf.role === "master") {
    machine.role = "master";
    const db = resolveMasterDb(world, machine);
    machine.dbId = db.id;
    db.designateInProgress = false;
    for (const row of db.hosts.values()) if (row.uuid !== machine.uuid) row.live = false;
    markUp(db, machine);
    // Slaves waiting for this master connect now (emergency-mode ones at their next retry).
    for (const other of world.machines.values()) {
      if (
        other !== machine &&
        other.reachable &&
        other.role === "slave" &&
        other.emergency === null &&
        other.poolConf.role === "slave" &&
        other.poolConf.masterAddress === machine.address
      ) {
        tryConnect(world, other);
      }
    }
  } else {
    machine.role = "slave";
    tryConnect(world, machine);
  }
  world.changed();
}

/** Stops the toolstack: sessions dropped, endpoint closed, slaves of a master lose it. */
export function stopToolstack(world: World, machine: Machine): Promise<void> {
  const wasMaster = machine.toolstack === "up" && machine.role === "master";
  if (machine.toolstack === "up") machine.toolstack = "down";
  machine.generation += 1;
  machine.sessions.clear();
  machine.connected = false;
  machine.emergency = null;
  machine.cancel("grace");
  machine.cancel("retry");
  const closed = machine.endpoint.close();
  if (wasMaster) {
    for (const other of world.machines.values()) {
      if (other !== machine && other.reachable && other.role === "slave" && other.connected) {
        if (other.poolConf.role === "slave" && other.poolConf.masterAddress === machine.address) {
          other.connected = false;
          tryConnect(world, other);
        }
      }
    }
  }
  world.scheduleDeadCheck(machine, () => markDeadIfSilent(world, machine));
  world.changed();
  return closed;
}

/**
 * After host_assumed_dead_interval: a host still not talking to a database's master is live=false
 * there — also when it runs as a master itself (split brain, emergency transition): it heartbeats
 * no other master.
 */
function markDeadIfSilent(world: World, machine: Machine): void {
  let touched = false;
  for (const db of world.dbs.values()) {
    const row = db.hostByUuid(machine.uuid);
    if (!row || db.pool.masterRef === row.ref) continue;
    if (machine.reachable && machine.role === "slave" && machine.connected && machine.dbId === db.id) continue;
    const masterRow = db.masterRow();
    const master = masterRow ? world.machineByUuid(masterRow.uuid) : undefined;
    if (master?.activeMaster && master.dbId === db.id && row.live) {
      row.live = false;
      touched = true;
    }
  }
  if (touched) world.changed();
}

/** Stops the toolstack now and starts it again after `downMs` (nominal). */
export function restartToolstack(world: World, machine: Machine, downMs: number): Promise<void> {
  const closed = stopToolstack(world, machine);
  machine.schedule(world.clock, "up", downMs, () => startToolstack(world, machine));
  return closed;
}

/** After the fuse (10 s nominal), restart the toolstack (pool.join, emergency calls, designate). */
export function scheduleRestart(world: World, machine: Machine): void {
  machine.schedule(world.clock, "fuse", world.durations.fuseMs, () => {
    void restartToolstack(world, machine, world.durations.restartMs);
  });
}

/** Aborts migrations from or to a host (crash or reboot). */
function abortMigrationsOf(world: World, machine: Machine, reason: string): void {
  for (const mig of [...world.migrations.values()]) {
    if (mig.sourceUuid === machine.uuid || mig.targetUuid === machine.uuid) mig.abort(reason);
  }
}

/** A boot has completed: counted, time-stamped, and a pending "disabled until reboot" is over. */
function booted(machine: Machine): void {
  machine.bootCount += 1;
  machine.bootedAt = Date.now();
  machine.disabledUntilReboot = false;
}

/** After the fuse, reboot the host: down for `downMs` (nominal), then it boots and starts its toolstack. */
export function scheduleReboot(world: World, machine: Machine, downMs = world.durations.rebootMs): void {
  machine.schedule(world.clock, "fuse", world.durations.fuseMs, () => {
    abortMigrationsOf(world, machine, "host rebooted");
    void stopToolstack(world, machine);
    machine.schedule(world.clock, "up", downMs, () => {
      booted(machine);
      startToolstack(world, machine);
    });
  });
}

/** A crashed host loses its running VMs: at boot they are Halted wherever it is recorded. */
function haltVmsOf(world: World, machine: Machine): void {
  for (const db of world.dbs.values()) {
    const row = db.hostByUuid(machine.uuid);
    if (!row) continue;
    for (const vm of db.residentGuests(row.ref)) {
      vm.powerState = "Halted";
      vm.residentOn = NULL_REF;
      vm.domid = -1;
      vm.currentOperations = {};
      vm.migration = null;
    }
  }
}

/** Crash: the endpoint stops answering at once, pending restarts are lost, migrations fail. */
export async function powerOff(world: World, machine: Machine): Promise<void> {
  if (!machine.poweredOn) return;
  machine.cancelAll();
  abortMigrationsOf(world, machine, "host crashed");
  const closed = stopToolstack(world, machine);
  machine.poweredOn = false;
  machine.toolstack = "off";
  world.changed();
  await closed;
}

/** Power on: boots for `bootMs`, then the toolstack starts per pool.conf. */
export function powerOn(world: World, machine: Machine): void {
  if (machine.poweredOn) return;
  machine.poweredOn = true;
  machine.toolstack = "down";
  machine.schedule(world.clock, "up", world.durations.bootMs, () => {
    haltVmsOf(world, machine);
    booted(machine);
    startToolstack(world, machine);
  });
  world.changed();
}

/** Starts every powered-on host at once: masters first, then slaves (simulator start / reload). */
export function startAll(world: World): void {
  const machines = [...world.machines.values()].filter((m) => m.poweredOn);
  for (const m of machines) if (m.poolConf.role === "master") startToolstack(world, m);
  for (const m of machines) if (m.poolConf.role === "slave") startToolstack(world, m);
  for (const m of world.machines.values()) if (!m.poweredOn) m.toolstack = "off";
}
