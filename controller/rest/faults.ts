/** Nova fault bodies (`{"badRequest": {"code": 400, "message": …}}`) and the mapping from domain errors to them. */
import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "../../shared/logging.js";

/** Nova's fault name per HTTP status (nova/api/openstack/wsgi.py `Fault._fault_names`; 409 is "conflictingRequest", checked against the live Nova by test/rest/nova-differential.test.ts); others are "computeFault". */
const faultNames: Record<number, string> = {
  400: "badRequest",
  401: "unauthorized",
  403: "forbidden",
  404: "itemNotFound",
  405: "badMethod",
  409: "conflictingRequest",
  413: "overLimit",
  415: "badMediaType",
  429: "overLimit",
  501: "notImplemented",
  503: "serviceUnavailable",
};

/** An HTTP error answered with a Nova fault body. */
export class NovaFault extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Extra response headers (e.g. Allow for 405). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  /** The JSON body Nova sends for this fault. */
  body(): Record<string, { code: number; message: string }> {
    return { [faultNames[this.status] ?? "computeFault"]: { code: this.status, message: this.message } };
  }
}

/** 400 badRequest. */
export const badRequest = (message: string) => new NovaFault(400, message);
/** 404 itemNotFound. */
export const itemNotFound = (message = "The resource could not be found.") => new NovaFault(404, message);

/** The REST operations, which decide how a few domain codes map (docs/os-aggregates.md §Nova's own status codes). */
export type NovaOperation =
  | "versions"
  | "extensions"
  | "unknown"
  | "list"
  | "create"
  | "show"
  | "update"
  | "delete"
  | "add_host"
  | "remove_host"
  | "set_metadata";

/**
 * Nova's status for FAILED_PRECONDITION per operation: InvalidAggregateAction* is 400 for
 * create/update/delete/set_metadata and 409 for add_host/remove_host.
 */
const preconditionStatus: Partial<Record<NovaOperation, number>> = {
  create: 400,
  update: 400,
  delete: 400,
  set_metadata: 400,
  add_host: 409,
  remove_host: 409,
};

/** Nova's status for ALREADY_EXISTS per operation: AggregateMetadataKeyExists (set_metadata) is 400, the rest 409. */
const alreadyExistsStatus: Partial<Record<NovaOperation, number>> = { set_metadata: 400 };

const internalMessage = "The server has either erred or is incapable of performing the requested operation.";

/** Turns anything a handler threw into a NovaFault; unexpected errors are logged and answered 500 without their text. */
export function faultFrom(err: unknown, operation: NovaOperation, log: Logger): NovaFault {
  if (err instanceof NovaFault) return err;
  if (err instanceof ConnectError) {
    const message = err.rawMessage;
    switch (err.code) {
      case Code.InvalidArgument:
      case Code.OutOfRange:
        return new NovaFault(400, message);
      case Code.NotFound:
        return new NovaFault(404, message);
      case Code.AlreadyExists:
        return new NovaFault(alreadyExistsStatus[operation] ?? 409, message);
      case Code.FailedPrecondition:
        return new NovaFault(preconditionStatus[operation] ?? 409, message);
      case Code.Aborted:
        return new NovaFault(409, message);
      case Code.Unauthenticated:
        return new NovaFault(401, message);
      case Code.PermissionDenied:
        return new NovaFault(403, message);
      case Code.ResourceExhausted:
        return new NovaFault(413, message);
      case Code.Unimplemented:
        return new NovaFault(501, message);
      case Code.Unavailable:
      case Code.DeadlineExceeded:
        return new NovaFault(503, message);
      default:
        break;
    }
    log.error("os-aggregates request failed", { operation, code: Code[err.code], error: message });
    return new NovaFault(500, internalMessage);
  }
  log.error("os-aggregates request failed", { operation, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  return new NovaFault(500, internalMessage);
}
