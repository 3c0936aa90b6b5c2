/** Timing settings of the agent: per-call timeout, poll interval, and the deadline of every wait. */

/** Every duration the agent waits for, in milliseconds. */
export interface AgentTimings {
  /** Timeout of one XenAPI call (xmlrpc has none of its own). */
  callTimeoutMs: number;
  /** Interval between polls of a condition or a task. */
  pollIntervalMs: number;
  /** JoinPool: pool.join, the toolstack restart, and the master seeing the host live. */
  joinTimeoutMs: number;
  /** EjectHost: until the host is gone from the master's host list. */
  ejectTimeoutMs: number;
  /** DesignateNewMaster: the call itself plus the restarts, until the new master answers. */
  designateTimeoutMs: number;
  /** Emergency transition / reset master / recover slaves: until the host answers in its new role. */
  emergencyTimeoutMs: number;
  /** MigrateVm: until the migration task ends. */
  migrateTimeoutMs: number;
}

/** Defaults sized for real XenServer (toolstack restarts take tens of seconds, reboots minutes). */
export const defaultTimings: Readonly<AgentTimings> = Object.freeze({
  callTimeoutMs: 30_000,
  pollIntervalMs: 1_000,
  joinTimeoutMs: 600_000,
  ejectTimeoutMs: 600_000,
  designateTimeoutMs: 600_000,
  emergencyTimeoutMs: 600_000,
  migrateTimeoutMs: 3_600_000,
});

/** Fills defaults and checks that every value is a positive finite number. */
export function resolveTimings(partial: Partial<AgentTimings> = {}): AgentTimings {
  const timings: AgentTimings = { ...defaultTimings };
  for (const key of Object.keys(defaultTimings) as (keyof AgentTimings)[]) {
    const value = partial[key];
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) throw new RangeError(`${key} must be a positive number of milliseconds`);
    timings[key] = value;
  }
  return timings;
}
