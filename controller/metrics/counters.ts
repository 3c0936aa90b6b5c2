/** The controller's counters and histograms, behind the ControllerMetrics port of context.ts. */
import { Counter, Histogram, type Registry } from "prom-client";
import { durationBuckets, metricPrefix } from "../../shared/metrics/registry.js";
import type { ControllerMetrics, MasterFailureHandling, MigrationResult } from "../context.js";
import type { OperationKindName, OperationStateName, StepStateName } from "../model/records.js";

const kinds: readonly OperationKindName[] = ["ADD_HOST", "REMOVE_HOST", "START_MAINTENANCE", "STOP_MAINTENANCE", "RECOVER_MASTER", "ROLLING_MAINTENANCE"];
const results: readonly OperationStateName[] = ["SUCCEEDED", "FAILED", "CANCELLED"];
const migrationResults: readonly MigrationResult[] = ["succeeded", "failed", "retried"];
const handlings: readonly MasterFailureHandling[] = ["automatic", "operator"];

/** ControllerMetrics on prom-client, registered in one registry; every known label set starts at 0. */
export class PromControllerMetrics implements ControllerMetrics {
  private readonly operations: Counter<"kind" | "result">;
  private readonly steps: Histogram<"kind" | "step" | "state">;
  private readonly migrations: Counter<"result">;
  private readonly migratedBytes: Counter;
  private readonly episodes: Counter;
  private readonly failures: Counter<"handling">;

  constructor(registry: Registry) {
    const registers = [registry];
    this.operations = new Counter({
      name: `${metricPrefix}operations_total`,
      help: "Operations that ended, by kind and result (SUCCEEDED, FAILED, CANCELLED).",
      labelNames: ["kind", "result"],
      registers,
    });
    this.steps = new Histogram({
      name: `${metricPrefix}operation_step_duration_seconds`,
      help: "How long operation steps ran (retries included; steps interrupted by a shutdown are not observed), by kind, step and end state.",
      labelNames: ["kind", "step", "state"],
      buckets: [...durationBuckets],
      registers,
    });
    this.migrations = new Counter({
      name: `${metricPrefix}migrations_total`,
      help: "Live migration attempts of maintenance evacuations and rebalances, by result (succeeded, failed, retried after a transient error).",
      labelNames: ["result"],
      registers,
    });
    this.migratedBytes = new Counter({
      name: `${metricPrefix}migrated_bytes_total`,
      help: "Memory of the VMs live-migrated by evacuations and rebalances, in bytes.",
      registers,
    });
    this.episodes = new Counter({
      name: `${metricPrefix}master_failure_episodes_total`,
      help: "Times a pool master became unreachable from the controller (its heartbeats stopped and its agent did not answer).",
      registers,
    });
    this.failures = new Counter({
      name: `${metricPrefix}master_failures_total`,
      help: "Master-failure episodes confirmed by the surviving members, by handling (automatic recovery, or an operator must recover).",
      labelNames: ["handling"],
      registers,
    });
    for (const kind of kinds) for (const result of results) this.operations.inc({ kind, result }, 0);
    for (const result of migrationResults) this.migrations.inc({ result }, 0);
    for (const handling of handlings) this.failures.inc({ handling }, 0);
  }

  operationEnded(kind: OperationKindName, result: OperationStateName): void {
    this.operations.inc({ kind, result });
  }

  stepEnded(kind: OperationKindName, step: string, state: StepStateName, seconds: number): void {
    this.steps.observe({ kind, step, state }, Math.max(0, seconds));
  }

  migrationEnded(result: MigrationResult, bytes: number): void {
    this.migrations.inc({ result });
    if (bytes > 0) this.migratedBytes.inc(bytes);
  }

  masterFailureEpisodeBegan(): void {
    this.episodes.inc();
  }

  masterFailureConfirmed(handling: MasterFailureHandling): void {
    this.failures.inc({ handling });
  }
}
