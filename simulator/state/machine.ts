/**
 * A simulated physical host: identity, facts, pool.conf, and the runtime state of its toolstack
 * (role, sessions, emergency mode, timers, scripted faults).
 */
import type { ClockTimer, ScaledClock } from "../clock.js";
import type { HostEndpoint } from "../http-endpoint.js";
import type { HostFacts } from "./facts.js";

/** What a host's pool.conf says: master, or slave of an address. */
export type PoolConf = { role: "master" } | { role: "slave"; masterAddress: string };

/** A session held by a host's toolstack (never persisted, like xapi's). */
export interface SessionRow {
  ref: string;
  uuid: string;
  /** Created by slave_local_login_with_password: only emergency calls. */
  local: boolean;
  user: string;
  originator: string;
  created: number;
}

/** A scripted failure of a host's next calls of one method. */
export interface Fault {
  /** Wire method name (e.g. "VM.pool_migrate", "Async.VM.pool_migrate") or "*". */
  method: string;
  /** XenAPI error to answer: [code, ...params]. */
  error?: string[];
  /** Never answer (until the host goes down). */
  hang?: boolean;
  /** Extra nominal delay before handling the call normally (or before the error). */
  delayMs?: number;
  /** The error is raised part-way through the call rather than before it (see FaultSpec.midway). */
  midway?: boolean;
  /** Calls left to affect. */
  count: number;
}

/** Toolstack state: off (no power), down (booting or restarting), up (answering). */
export type ToolstackState = "off" | "down" | "up";

/**
 * A simulated physical host: identity, facts, its on-disk pool.conf, and the
 * runtime state of its toolstack (sessions, role, emergency mode, endpoint).
 */
export class Machine {
  readonly name: string;
  readonly address: string;
  readonly uuid: string;
  facts: HostFacts;
  /** Persisted: powered on. */
  poweredOn = true;
  /** Persisted: pool.conf. */
  poolConf: PoolConf = { role: "master" };
  /** Persisted: the next boot starts from a wiped database (after pool.eject). */
  wipeOnBoot = false;
  /** Persisted: the pool database this host uses (or last used: a slave's backup). */
  dbId: string | null = null;
  /** Persisted: boots since the host was created (its first start counts; a simulator restart does not). */
  bootCount = 1;
  /** Persisted: when the host last booted (ms since the epoch): `other_config:boot_time`. */
  bootedAt = Date.now();
  /** When the toolstack last started (ms since the epoch): `other_config:agent_start_time`. */
  agentStartedAt = Date.now();
  /** host.reboot/shutdown was accepted: host.enable refuses until the host has rebooted. */
  disabledUntilReboot = false;

  toolstack: ToolstackState = "down";
  /** Role the running toolstack took at start. */
  role: "master" | "slave" = "master";
  /** Slave only: currently talking to its master. */
  connected = false;
  /** Non-null in emergency mode: the stashed error every non-emergency call gets. */
  emergency: string[] | null = null;
  /** Incremented every time the toolstack stops; handlers use it to notice restarts. */
  generation = 0;
  readonly sessions = new Map<string, SessionRow>();
  faults: Fault[] = [];
  endpoint!: HostEndpoint;
  private readonly timers = new Map<string, ClockTimer>();

  constructor(name: string, address: string, uuid: string, facts: HostFacts) {
    this.name = name;
    this.address = address;
    this.uuid = uuid;
    this.facts = facts;
  }

  /** Powered on and the toolstack is answering. */
  get reachable(): boolean {
    return this.poweredOn && this.toolstack === "up";
  }

  /** A reachable master that is not in emergency mode. */
  get activeMaster(): boolean {
    return this.reachable && this.role === "master" && this.emergency === null;
  }

  /** Schedules a named timer, replacing any earlier one with the same name. */
  schedule(clock: ScaledClock, name: string, nominalMs: number, fn: () => void): void {
    this.timers.get(name)?.cancel();
    const timer = clock.setTimeout(() => {
      if (this.timers.get(name) === timer) this.timers.delete(name);
      fn();
    }, nominalMs);
    this.timers.set(name, timer);
  }

  /** True when a named timer is pending. */
  hasTimer(name: string): boolean {
    return this.timers.has(name);
  }

  /** Cancels one named timer. */
  cancel(name: string): void {
    this.timers.get(name)?.cancel();
    this.timers.delete(name);
  }

  /** Cancels every timer of this host (power off). */
  cancelAll(): void {
    for (const timer of this.timers.values()) timer.cancel();
    this.timers.clear();
  }

  /** Takes the first fault matching the method, consuming one use. */
  takeFault(method: string): Fault | undefined {
    const index = this.faults.findIndex((f) => f.method === method || f.method === "*");
    if (index < 0) return undefined;
    const fault = this.faults[index];
    if (!fault) return undefined;
    fault.count -= 1;
    if (fault.count <= 0) this.faults.splice(index, 1);
    return fault;
  }
}
