/**
 * How a step says it cannot succeed, and how what it threw becomes the operation's error. A step
 * never decides how an interruption ends: the runner does (see runner.ts).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { codeName, xapiErrorOf } from "../../shared/errors.js";
import type { OperationErrorRecord } from "../model/records.js";
import { StoreUnavailable } from "../store/store-unavailable.js";

/** The operation cannot go on, found before this step acted (the pool is as the step found it). */
export class Refused extends Error {
  constructor(
    message: string,
    readonly code: Code = Code.FailedPrecondition,
  ) {
    super(message);
  }
}

/** Not yet: the awaited condition may hold later (a member not live yet); retried until the step's deadline. */
export class RetryLater extends Error {
  readonly code = Code.Unavailable;
}

/** The step stopped because the operation was cancelled; the message says what it did before. */
export class Cancelled extends Error {
  constructor(message = "cancelled") {
    super(message);
  }
}

/**
 * The step waits for the operator (ResumeOperation): the runner leaves the step and the operation
 * RUNNING and stops running it; whatever the step must remember it checkpointed before throwing.
 * It runs again when resumed (or after a restart, when it throws Paused again until resumed).
 */
export class Paused extends Error {}

/** True for errors worth retrying until the step's deadline (agent or XAPI briefly unreachable, transient refusals). */
export function isTransient(err: unknown): boolean {
  if (err instanceof RetryLater) return true;
  // Not retried in the step (it is UNAVAILABLE too): the run is interrupted and resumes from the journal.
  if (isStoreLoss(err)) return false;
  if (!(err instanceof ConnectError)) return false;
  return err.code === Code.Unavailable || err.code === Code.Aborted || (err.code === Code.DeadlineExceeded && !xapiErrorOf(err));
}

/**
 * True when the database was lost (unreachable, or a COMMIT's outcome unknown): nothing can be
 * recorded, so the run is interrupted as by a restart; the step stays RUNNING in the journal and
 * runs again from there once the database answers.
 */
export function isStoreLoss(err: unknown): boolean {
  return err instanceof StoreUnavailable;
}

/** True when what a failing step threw shows it did not change the pool (a refusal found first, or XenAPI refused the call). */
export function leftPoolAsItWas(err: unknown): boolean {
  return err instanceof Refused || err instanceof RetryLater || xapiErrorOf(err) !== undefined;
}

/** The error record for what a step threw. */
export function operationError(err: unknown, stepName: string): OperationErrorRecord {
  if (err instanceof Refused || err instanceof RetryLater) return { code: codeName(err.code), message: `${stepName}: ${err.message}` };
  if (err instanceof ConnectError) {
    const xapi = xapiErrorOf(err);
    return { code: codeName(err.code), message: `${stepName}: ${err.rawMessage}`, xapiCode: xapi?.code, xapiParams: xapi?.params };
  }
  return { code: "INTERNAL", message: `${stepName}: ${err instanceof Error ? err.message : String(err)}` };
}
