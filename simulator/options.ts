/**
 * Simulator options: the nominal durations and their defaults, the start options and their
 * validation, and the loopback address plan (docs/xenapi-notes.md §Timings).
 */

/**
 * Nominal durations (milliseconds as a real XenServer would take them) and the
 * migration bandwidth model. Every value is multiplied by `timeScale` before
 * the simulator actually waits.
 */
export interface Durations {
  /** Delay before `SESSION_AUTHENTICATION_FAILED` (xapi_session.ml sleeps 5 s). */
  authFailDelayMs: number;
  /** `Constants.fuse_time`: from join/eject/emergency call returning to the toolstack restart. */
  fuseMs: number;
  /** Toolstack restart: the endpoint refuses connections for this long. */
  restartMs: number;
  /** Reboot after `pool.eject` (`reset-and-reboot`): endpoint down for this long. */
  rebootMs: number;
  /** Power-on boot (control API `power {on:true}`) until the toolstack answers. */
  bootMs: number;
  /** How long `pool.eject` itself takes before returning. */
  ejectMs: number;
  /** How long `pool.designate_new_master` takes before returning (then fuse + restarts). */
  designateMs: number;
  /** A slave that lost its master keeps answering HOST_IS_SLAVE this long, then enters emergency mode. */
  masterLostGraceMs: number;
  /** In emergency mode a slave re-checks its master this often and restarts its toolstack when it is back. */
  emergencyRetryMs: number;
  /** The master marks a silent host `live=false` after this long (`host_assumed_dead_interval`). */
  hostAssumedDeadMs: number;
  /** Fixed per-migration setup time (no bandwidth used). */
  migrationSetupMs: number;
  /** Stop-and-copy downtime at the end of a migration (no bandwidth used). */
  migrationDowntimeMs: number;
  /** Outgoing link bandwidth of every host, shared equally among its concurrent outgoing migrations. */
  linkBandwidthMiBps: number;
}

/** Defaults: realistic XenServer timings (see docs/simulator.md). */
export const DEFAULT_DURATIONS: Readonly<Durations> = Object.freeze({
  authFailDelayMs: 5_000,
  fuseMs: 10_000,
  restartMs: 20_000,
  rebootMs: 60_000,
  bootMs: 60_000,
  ejectMs: 5_000,
  designateMs: 5_000,
  masterLostGraceMs: 60_000,
  emergencyRetryMs: 60_000,
  hostAssumedDeadMs: 600_000,
  migrationSetupMs: 2_000,
  migrationDowntimeMs: 150,
  linkBandwidthMiBps: 110,
});

/** Options of {@link startSimulator}. */
export interface SimulatorOptions extends Partial<Durations> {
  /** Initial standalone hosts, named xs1..xsN. */
  hosts: number;
  /** Address of xs1; host i (1-based) gets base + i - 1. Default 127.0.0.10. */
  baseAddress?: string;
  /** Same XML-RPC port on every host address; 0 (default) picks one free on all addresses. */
  port?: number;
  /** Control API port on 127.0.0.1; 0 (default) = ephemeral. */
  controlPort?: number;
  /** Default "root". */
  username?: string;
  /** Default "xenroot". */
  password?: string;
  /** real duration = nominal × timeScale. Default 1. */
  timeScale?: number;
  /** Running guest VMs created on each initial host (mixed sizes). Default 0. */
  vmsPerHost?: number;
  /** Physical memory of each initial host in MiB. Default 262144 (256 GiB). */
  hostMemoryMiB?: number;
  /** Save/reload the simulator state in this JSON file. */
  stateFile?: string;
  /** Error every non-emergency call gets in emergency mode. Default ["HOST_STILL_BOOTING"]. */
  emergencyError?: string[];
}

/** Options with every default applied. */
export interface ResolvedOptions {
  hosts: number;
  baseAddress: string;
  port: number;
  controlPort: number;
  username: string;
  password: string;
  timeScale: number;
  vmsPerHost: number;
  hostMemoryMiB: number;
  stateFile: string | undefined;
  emergencyError: string[];
  durations: Durations;
}

/** Validates options and fills defaults; throws RangeError on nonsense. */
export function resolveOptions(opts: SimulatorOptions): ResolvedOptions {
  const durations: Durations = { ...DEFAULT_DURATIONS };
  for (const key of Object.keys(DEFAULT_DURATIONS) as (keyof Durations)[]) {
    const value = opts[key];
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw new RangeError(`${key} must be a non-negative number`);
    }
    durations[key] = value;
  }
  if (durations.linkBandwidthMiBps <= 0) throw new RangeError("linkBandwidthMiBps must be > 0");
  const hosts = opts.hosts;
  if (!Number.isInteger(hosts) || hosts < 0 || hosts > 200) throw new RangeError("hosts must be an integer in 0..200");
  const vmsPerHost = opts.vmsPerHost ?? 0;
  if (!Number.isInteger(vmsPerHost) || vmsPerHost < 0) throw new RangeError("vmsPerHost must be a non-negative integer");
  const port = opts.port ?? 0;
  const controlPort = opts.controlPort ?? 0;
  for (const [name, p] of [["port", port], ["controlPort", controlPort]] as const) {
    if (!Number.isInteger(p) || p < 0 || p > 65535) throw new RangeError(`${name} must be a port number`);
  }
  const baseAddress = opts.baseAddress ?? "127.0.0.10";
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(baseAddress)) {
    throw new RangeError("baseAddress must be a loopback IPv4 address (127.x.y.z)");
  }
  const emergencyError = opts.emergencyError ?? ["HOST_STILL_BOOTING"];
  if (emergencyError.length === 0 || !emergencyError.every((s) => typeof s === "string")) {
    throw new RangeError("emergencyError must be a non-empty string array");
  }
  return {
    hosts,
    baseAddress,
    port,
    controlPort,
    username: opts.username ?? "root",
    password: opts.password ?? "xenroot",
    timeScale: opts.timeScale ?? 1,
    vmsPerHost,
    hostMemoryMiB: opts.hostMemoryMiB ?? 262_144,
    stateFile: opts.stateFile,
    emergencyError,
    durations,
  };
}

/** The address `index` steps after `base` (e.g. 127.0.0.10 + 2 = 127.0.0.12). */
export function addressAt(base: string, index: number): string {
  const parts = base.split(".").map(Number);
  let value = ((parts[1] ?? 0) << 16) | ((parts[2] ?? 0) << 8) | (parts[3] ?? 0);
  value += index;
  if (value > 0xffffff) throw new RangeError("address range exhausted");
  return `127.${(value >> 16) & 255}.${(value >> 8) & 255}.${value & 255}`;
}
