/**
 * The one mapping from failures to gRPC statuses, with structured details (docs/os-aggregates.md
 * §Outcomes shared with the gRPC API; XenAPI refusals: docs/xenapi-notes.md §Error codes).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema } from "../gen/google/rpc/error_details_pb.js";
import type { Logger } from "./logging.js";
import { transientXapiCodes } from "./xapi-codes.js";

/** One invalid field of a request. */
export interface FieldViolation {
  field: string;
  description: string;
}

/** ErrorInfo domain for XenAPI failures. */
export const xapiErrorDomain = "xenapi";

/** Most violations one INVALID_ARGUMENT lists, and the longest field or description in it: an error travels in HTTP/2 trailers, which a peer refuses past a few KiB. */
export const maxListedViolations = 20;
const maxViolationText = 300;

const clipped = (text: string) => (text.length > maxViolationText ? `${text.slice(0, maxViolationText)}… (${text.length} characters)` : text);

/** INVALID_ARGUMENT with a BadRequest detail listing the violations (the first 20, each clipped, then a "request" entry counting the rest). */
export function invalidArgument(violations: FieldViolation[]): ConnectError {
  const listed = violations.slice(0, maxListedViolations).map((v) => ({ field: clipped(v.field), description: clipped(v.description) }));
  if (violations.length > listed.length) listed.push({ field: "request", description: `${violations.length - listed.length} more violations not listed` });
  const message = listed.map((v) => `${v.field}: ${v.description}`).join("; ");
  return new ConnectError(message, Code.InvalidArgument, undefined, [
    { desc: BadRequestSchema, value: { fieldViolations: listed } },
  ]);
}

/** NOT_FOUND. */
export const notFound = (message: string) => new ConnectError(message, Code.NotFound);
/** ALREADY_EXISTS. */
export const alreadyExists = (message: string) => new ConnectError(message, Code.AlreadyExists);
/** FAILED_PRECONDITION. */
export const failedPrecondition = (message: string) => new ConnectError(message, Code.FailedPrecondition);
/** UNAVAILABLE. */
export const unavailable = (message: string) => new ConnectError(message, Code.Unavailable);
/** UNIMPLEMENTED, naming what is missing. */
export const unimplemented = (message: string) => new ConnectError(message, Code.Unimplemented);
/** DEADLINE_EXCEEDED. */
export const deadlineExceeded = (message: string) => new ConnectError(message, Code.DeadlineExceeded);


/** A XenAPI Failure as a gRPC error carrying the code and parameters in ErrorInfo. */
export function xapiFailure(code: string, params: readonly string[], context?: string): ConnectError {
  const metadata: Record<string, string> = {};
  params.forEach((p, i) => (metadata[`param${i}`] = p));
  const shown = params.length > 0 ? `${code} [${params.join(", ")}]` : code;
  const message = context ? `${context}: XenAPI refused: ${shown}` : `XenAPI refused: ${shown}`;
  const grpcCode = transientXapiCodes.has(code) ? Code.Aborted : Code.FailedPrecondition;
  return new ConnectError(message, grpcCode, undefined, [
    { desc: ErrorInfoSchema, value: { reason: code, domain: xapiErrorDomain, metadata } },
  ]);
}

/** The XenAPI code and parameters carried by an error, if it has them. */
export function xapiErrorOf(err: unknown): { code: string; params: string[] } | undefined {
  if (!(err instanceof ConnectError)) return undefined;
  for (const info of err.findDetails(ErrorInfoSchema)) {
    if (info.domain !== xapiErrorDomain) continue;
    const params: string[] = [];
    for (let i = 0; `param${i}` in info.metadata; i++) params.push(info.metadata[`param${i}`]!);
    return { code: info.reason, params };
  }
  return undefined;
}

/**
 * Turns anything thrown by a handler into a ConnectError. Known errors pass through;
 * anything else is logged and answered as INTERNAL without leaking its text.
 */
export function toConnectError(err: unknown, log?: Logger): ConnectError {
  if (err instanceof ConnectError) return err;
  log?.error("unexpected error in handler", { error: err instanceof Error ? err.stack ?? err.message : String(err) });
  return new ConnectError("internal error; see the server log", Code.Internal);
}

/** The gRPC status name of a code, e.g. "FAILED_PRECONDITION". */
export function codeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}
