/** What a step of an operation gets and returns. */
import type { Logger } from "../../shared/logging.js";
import type { ControllerContext } from "../context.js";
import type { OperationRecord } from "../model/records.js";
import type { AgentDirectory } from "../pool/agent-directory.js";

/** Everything a step needs. */
export interface StepContext {
  ctx: ControllerContext;
  agents: AgentDirectory;
  /** The operation; steps may write op.params (saved with the step's result). */
  op: OperationRecord;
  /** Aborted when the controller shuts down or the step's deadline passes. */
  signal: AbortSignal;
  /** Milliseconds left before the step's deadline. */
  remainingMs(): number;
  log: Logger;
  /** Sets the operation's progress from how far this step is (0 to 1). */
  reportStepProgress(fraction: number): void;
  /** Saves op (progress, params, evacuation detail) now and wakes watchers. */
  checkpoint(): void;
  /** True once CancelOperation was called on this operation. */
  cancelRequested(): boolean;
}

/** Thrown by a step that stopped because the operation was cancelled. */
export class OperationCancelled extends Error {
  constructor(message = "cancelled") {
    super(message);
  }
}

/** What a step reports: a detail for people, and whether it had nothing to do. */
export interface StepResult {
  detail: string;
  skipped?: boolean;
}

/** One step: idempotent, checks the real pool before acting. */
export type StepFn = (s: StepContext) => Promise<StepResult>;

/** How one kind of operation runs. */
export interface OperationKindHandler {
  /** The steps, decided when the operation starts running (recorded, so a resume follows the same plan). */
  plan(s: StepContext): string[];
  steps: Record<string, StepFn>;
  /** Steps that change the pool (the others only read). */
  mutating: ReadonlySet<string>;
  /**
   * True for the remedy of an ERROR (master recovery): it may run while the aggregate is in ERROR, and
   * its own failure replaces the recorded reason. Other operations wait for a repair.
   */
  runsInError?: boolean;
  /** True when a failure puts the aggregate into ERROR (default); evacuations leave the pool as it is. */
  failureBreaksPool?: boolean;
  /** Called in the transaction that records success. */
  succeeded(s: Pick<StepContext, "ctx" | "op">): void;
  /** Called in the transaction that records failure or cancellation; `changedPool` is false when no step acted. */
  ended(s: Pick<StepContext, "ctx" | "op">, outcome: { failed: boolean; changedPool: boolean; message: string }): void;
}
