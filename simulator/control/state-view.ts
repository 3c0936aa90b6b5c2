/** The control API's view of the world (GET /state): hosts, VMs and pools as plain JSON. */
import type { HostFacts } from "../state/facts.js";
import { hostFreeBytes, hostTotalBytes } from "../state/memory.js";
import type { Machine } from "../state/machine.js";
import type { PoolDb } from "../state/pool-db.js";
import type { PowerState } from "../state/rows.js";
import type { World } from "../world.js";

const MiB = 1024 * 1024;

/** One host as the control API shows it. */
export interface HostState {
  name: string;
  address: string;
  /** XML-RPC URL, e.g. "http://127.0.0.10:8080/". */
  url: string;
  uuid: string;
  /** Powered on. */
  power: "on" | "off";
  /** "up" answers, "down" is booting/restarting (connection refused), "off" has no power. */
  toolstack: "up" | "down" | "off";
  /** Role of the running toolstack (pool.conf's role while it is down). */
  role: "master" | "slave";
  /** Name of this host's master (itself for a master); null when the master address is unknown. */
  master: string | null;
  masterAddress: string;
  /** A slave talking to its master (masters: true when up). */
  connected: boolean;
  /** Emergency mode (slave lost its master past the grace period). */
  emergency: boolean;
  emergencyError: string[] | null;
  /** Host record fields in the pool database this host uses. */
  enabled: boolean;
  live: boolean;
  memoryTotalBytes: number;
  memoryFreeBytes: number;
  memoryTotalMiB: number;
  memoryFreeMiB: number;
  poolName: string;
  poolUuid: string;
  /** A toolstack restart or reboot is scheduled (fuse running). */
  restartPending: boolean;
  facts: HostFacts;
  /** Remaining scripted faults. */
  faults: number;
  /** Boots since the host was created (its first start counts; host.reboot, a power-on and an eject's reboot add one). */
  bootCount: number;
}

/** One VM (guests and user templates; control domains and default templates are omitted). */
export interface VmState {
  uuid: string;
  name: string;
  powerState: PowerState;
  /** Name of the host it is resident on, or null. */
  residentOn: string | null;
  memoryMiB: number;
  memoryBytes: number;
  localStorage: boolean;
  template: boolean;
  /** Target host name while a migration runs. */
  migratingTo: string | null;
  poolUuid: string;
}

/** One pool database (a split brain shows two with the same uuid). */
export interface PoolState {
  uuid: string;
  name: string;
  master: string | null;
  hosts: string[];
  /** Pool operation in progress: "designate_new_master", "eject" or null. */
  operation: string | null;
}

/** The whole simulator as GET /state returns it. */
export interface SimulatorState {
  timeScale: number;
  port: number;
  hosts: HostState[];
  vms: VmState[];
  pools: PoolState[];
}

/** Databases ordered so that the ones served by an active master come first. */
function orderedDbs(world: World): PoolDb[] {
  const active: PoolDb[] = [];
  const rest: PoolDb[] = [];
  for (const db of world.dbs.values()) {
    const master = db.masterRow();
    const m = master ? world.machineByUuid(master.uuid) : undefined;
    if (m?.activeMaster && m.dbId === db.id) active.push(db);
    else rest.push(db);
  }
  return [...active, ...rest];
}

function hostState(world: World, m: Machine, port: number): HostState {
  const db = world.dbOf(m);
  const row = db?.hostByUuid(m.uuid);
  const masterAddress = m.poolConf.role === "slave" ? m.poolConf.masterAddress : m.address;
  const role = m.toolstack === "up" ? m.role : m.poolConf.role;
  const total = db && row ? hostTotalBytes(db, row.ref, m.facts) : 0;
  const free = db && row ? hostFreeBytes(db, row.ref, m.facts) : 0;
  return {
    name: m.name,
    address: m.address,
    url: `http://${m.address}:${port}/`,
    uuid: m.uuid,
    power: m.poweredOn ? "on" : "off",
    toolstack: m.toolstack,
    role,
    master: world.machineByAddress(masterAddress)?.name ?? null,
    masterAddress,
    connected: m.toolstack === "up" && (m.role === "master" || m.connected),
    emergency: m.emergency !== null,
    emergencyError: m.emergency ? [...m.emergency] : null,
    enabled: row?.enabled ?? false,
    live: row?.live ?? false,
    memoryTotalBytes: total,
    memoryFreeBytes: free,
    memoryTotalMiB: Math.floor(total / MiB),
    memoryFreeMiB: Math.floor(free / MiB),
    poolName: db?.pool.nameLabel ?? "",
    poolUuid: db?.pool.uuid ?? "",
    restartPending: m.hasTimer("fuse"),
    facts: { ...m.facts },
    faults: m.faults.reduce((n, f) => n + f.count, 0),
    bootCount: m.bootCount,
  };
}

/** Builds the control API's view of the world. */
export function buildState(world: World, port: number): SimulatorState {
  const hosts = [...world.machines.values()].map((m) => hostState(world, m, port));
  const vms: VmState[] = [];
  const pools: PoolState[] = [];
  const seen = new Set<string>();
  for (const db of orderedDbs(world)) {
    const nameOf = (ref: string): string | null => {
      const row = db.hosts.get(ref);
      return row ? (world.machineByUuid(row.uuid)?.name ?? row.nameLabel) : null;
    };
    const masterRow = db.masterRow();
    pools.push({
      uuid: db.pool.uuid,
      name: db.pool.nameLabel,
      master: masterRow ? nameOf(masterRow.ref) : null,
      hosts: [...db.hosts.values()].map((h) => world.machineByUuid(h.uuid)?.name ?? h.nameLabel),
      operation: db.designateInProgress ? "designate_new_master" : db.poolOperation,
    });
    for (const vm of db.vms.values()) {
      if (vm.isControlDomain || vm.isDefaultTemplate || seen.has(vm.uuid)) continue;
      seen.add(vm.uuid);
      vms.push({
        uuid: vm.uuid,
        name: vm.nameLabel,
        powerState: vm.powerState,
        residentOn: nameOf(vm.residentOn),
        memoryMiB: Math.round(vm.memoryBytes / MiB),
        memoryBytes: vm.memoryBytes,
        localStorage: vm.localSrRef !== null,
        template: vm.isTemplate,
        migratingTo: vm.migration ? nameOf(vm.migration.targetRef) : null,
        poolUuid: db.pool.uuid,
      });
    }
  }
  return { timeScale: world.clock.timeScale, port, hosts, vms, pools };
}
