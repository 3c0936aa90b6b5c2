/**
 * The simulated world: every host and pool database, the clock, the link model and the running
 * migrations, with change notification.
 */
import { ScaledClock, type ClockTimer } from "./clock.js";
import { LinkScheduler } from "./migration/link-scheduler.js";
import { bytesPerMs } from "./migration/bandwidth-model.js";
import type { ResolvedOptions, Durations } from "./options.js";
import type { Machine } from "./state/machine.js";
import type { PoolDb } from "./state/pool-db.js";
import type { HostRow } from "./state/rows.js";

/** A running migration's handle, so a host crash can abort it. */
export interface RunningMigration {
  dbId: string;
  vmRef: string;
  sourceUuid: string;
  targetUuid: string;
  abort(reason: unknown): void;
  /** Progress 0..1 for task.get_progress. */
  progress(): number;
}

/**
 * The whole simulated world: hosts (machines), pool databases, the scaled
 * clock, the link model and the running migrations. Everything else operates
 * on it; it notifies listeners on every change (state file, waitFor).
 */
export class World {
  readonly options: ResolvedOptions;
  readonly durations: Durations;
  readonly clock: ScaledClock;
  readonly links: LinkScheduler;
  readonly machines = new Map<string, Machine>();
  readonly dbs = new Map<string, PoolDb>();
  /** Keyed by `${dbId}/${vmRef}`. */
  readonly migrations = new Map<string, RunningMigration>();
  /** Runtime progress of tasks that are not migrations (e.g. evacuate). */
  readonly taskProgress = new Map<string, () => number>();
  /** Cancellation hooks of running tasks (task.cancel). */
  readonly taskCancellers = new Map<string, () => void>();
  private readonly deadTimers = new Map<string, ClockTimer>();
  private readonly listeners = new Set<() => void>();
  closed = false;

  constructor(options: ResolvedOptions) {
    this.options = options;
    this.durations = options.durations;
    this.clock = new ScaledClock(options.timeScale);
    this.links = new LinkScheduler(this.clock, bytesPerMs(options.durations));
  }

  /** Registers a change listener; returns an unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Signals that observable state changed. */
  changed(): void {
    if (this.closed) return;
    this.collectGarbage();
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch {
        // listeners must not break the simulation
      }
    }
  }

  machineByAddress(address: string): Machine | undefined {
    for (const m of this.machines.values()) if (m.address === address) return m;
    return undefined;
  }

  machineByUuid(uuid: string): Machine | undefined {
    for (const m of this.machines.values()) if (m.uuid === uuid) return m;
    return undefined;
  }

  /** The database a host currently uses (or last used). */
  dbOf(machine: Machine): PoolDb | undefined {
    return machine.dbId === null ? undefined : this.dbs.get(machine.dbId);
  }

  /** A host's own record in the database it uses. */
  hostRowOf(machine: Machine): HostRow | undefined {
    return this.dbOf(machine)?.hostByUuid(machine.uuid);
  }

  /** Machine behind a host record. */
  machineOfRow(row: HostRow): Machine | undefined {
    return this.machineByUuid(row.uuid);
  }

  /** Schedules the "assumed dead" check of a host that stopped answering. */
  scheduleDeadCheck(machine: Machine, check: () => void): void {
    this.deadTimers.get(machine.name)?.cancel();
    this.deadTimers.set(
      machine.name,
      this.clock.setTimeout(() => {
        this.deadTimers.delete(machine.name);
        check();
      }, this.durations.hostAssumedDeadMs),
    );
  }

  /** Drops databases no host uses any more. */
  private collectGarbage(): void {
    const used = new Set<string>();
    for (const m of this.machines.values()) if (m.dbId !== null) used.add(m.dbId);
    for (const id of [...this.dbs.keys()]) {
      if (used.has(id)) continue;
      let busy = false;
      for (const mig of this.migrations.values()) if (mig.dbId === id) busy = true;
      if (!busy) this.dbs.delete(id);
    }
  }

  /** Stops every timer; the world is inert afterwards. */
  dispose(): void {
    this.closed = true;
    for (const t of this.deadTimers.values()) t.cancel();
    this.deadTimers.clear();
    for (const m of this.machines.values()) m.cancelAll();
    this.links.dispose();
    this.clock.dispose();
    this.listeners.clear();
  }
}
