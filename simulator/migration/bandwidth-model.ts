/**
 * The migration time model: how long one migration takes, and the lower bound for a set of them
 * (the evacuation benchmark's reference).
 */

/** The parameters of the migration timing model (nominal milliseconds, MiB/s). */
export interface MigrationModel {
  migrationSetupMs: number;
  migrationDowntimeMs: number;
  linkBandwidthMiBps: number;
}

const MiB = 1024 * 1024;

/** Bytes one host link moves per nominal millisecond. */
export function bytesPerMs(model: MigrationModel): number {
  return (model.linkBandwidthMiBps * MiB) / 1000;
}

/** Nominal duration of one migration alone on its source link: setup + memory / bandwidth + downtime. */
export function singleMigrationMs(memoryBytes: number, model: MigrationModel): number {
  return model.migrationSetupMs + memoryBytes / bytesPerMs(model) + model.migrationDowntimeMs;
}

/** A VM to migrate: its memory (memory_static_max) and the host it leaves. */
export interface MigrationLoad {
  memoryBytes: number;
  /** Source host (any key); VMs without one count as one shared source. */
  source?: string;
}

/**
 * Lower bound (nominal ms) of the wall time to migrate a set of VMs.
 *
 * Model: each migration spends `migrationSetupMs` (no bandwidth), then moves
 * its memory over the *source* host's link, whose bandwidth is shared equally
 * by all migrations transferring from that host at the same moment, then
 * `migrationDowntimeMs`. A link is never idle while one of its transfers is
 * running, so the best possible schedule starts everything at once and ends at
 *
 *   max over source hosts s of ( setup + Σ_{vm from s} memory / bandwidth + downtime )
 *
 * (0 for an empty set). Sequential batches add one setup + downtime per batch.
 */
export function migrationLowerBoundMs(vms: readonly MigrationLoad[], model: MigrationModel): number {
  const perSource = new Map<string, number>();
  for (const vm of vms) {
    const key = vm.source ?? "";
    perSource.set(key, (perSource.get(key) ?? 0) + vm.memoryBytes);
  }
  let bound = 0;
  for (const bytes of perSource.values()) {
    bound = Math.max(bound, model.migrationSetupMs + bytes / bytesPerMs(model) + model.migrationDowntimeMs);
  }
  return bound;
}
