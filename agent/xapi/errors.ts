/** Typed failures of XenAPI calls: refusals by XAPI, and failures to reach it at all. */

/** XAPI answered `Status: Failure` with `ErrorDescription = [code, ...params]`. */
export class XapiError extends Error {
  override readonly name = "XapiError";
  constructor(
    readonly code: string,
    readonly params: readonly string[],
    /** The XenAPI method that failed (never its parameters). */
    readonly method?: string,
  ) {
    super(`${method ? `${method}: ` : ""}${code}${params.length ? ` [${params.join(", ")}]` : ""}`);
  }
}

/** Why XAPI could not be reached. */
export type UnreachableReason = "refused" | "timeout" | "reset" | "protocol" | "aborted" | "other";

/**
 * XAPI could not be reached or did not answer like XenAPI (connection refused, reset, timeout,
 * non-XML-RPC reply). The message names the endpoint and the cause, never call parameters.
 */
export class XapiUnreachableError extends Error {
  override readonly name = "XapiUnreachableError";
  constructor(
    message: string,
    readonly reason: UnreachableReason,
    /** The endpoint (scheme://host:port) that failed. */
    readonly endpoint: string,
  ) {
    super(message);
  }

  /** True when the request certainly never reached XAPI, so it is safe to send again. */
  get neverSent(): boolean {
    return this.reason === "refused";
  }
}

/** A wait (join, eject, designate, …) did not reach its condition before its deadline. */
export class WaitTimeoutError extends Error {
  override readonly name = "WaitTimeoutError";
  constructor(
    readonly what: string,
    readonly waitedMs: number,
    /** The last thing observed, for the message (e.g. "endpoint down"). */
    readonly lastSeen?: string,
  ) {
    super(`timed out after ${waitedMs} ms waiting for ${what}${lastSeen ? ` (last seen: ${lastSeen})` : ""}`);
  }
}

/** True for a XapiError with one of the codes. */
export function isXapiError(err: unknown, ...codes: string[]): err is XapiError {
  return err instanceof XapiError && (codes.length === 0 || codes.includes(err.code));
}
