/** Turns what a step threw into the error recorded on the operation and the pool. */
import { Code, ConnectError } from "@connectrpc/connect";
import { codeName, xapiErrorOf } from "../../shared/errors.js";
import type { OperationErrorRecord } from "../model/records.js";

/** A failure that must end the operation now (retrying cannot help). */
export class StepFailure extends Error {
  constructor(
    message: string,
    readonly code: Code = Code.FailedPrecondition,
  ) {
    super(message);
  }
}

/** True for errors worth retrying until the step's deadline (agent or XAPI briefly unreachable, transient refusals). */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof ConnectError)) return false;
  return err.code === Code.Unavailable || err.code === Code.Aborted || (err.code === Code.DeadlineExceeded && !xapiErrorOf(err));
}

/** The error record for what a step threw. */
export function operationError(err: unknown, stepName: string): OperationErrorRecord {
  if (err instanceof StepFailure) return { code: codeName(err.code), message: `${stepName}: ${err.message}` };
  if (err instanceof ConnectError) {
    const xapi = xapiErrorOf(err);
    return {
      code: codeName(err.code),
      message: `${stepName}: ${err.rawMessage}`,
      xapiCode: xapi?.code,
      xapiParams: xapi?.params,
    };
  }
  return { code: "INTERNAL", message: `${stepName}: ${err instanceof Error ? err.message : String(err)}` };
}
