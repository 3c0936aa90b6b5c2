/**
 * Maps agent failures to gRPC errors: XenAPI refusals carry their code and params (ErrorInfo),
 * unreachable XAPI is UNAVAILABLE, exhausted waits are DEADLINE_EXCEEDED. The XAPI password is
 * scrubbed from every message and parameter.
 */
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { deadlineExceeded, toConnectError, unavailable, xapiFailure } from "../../shared/errors.js";
import type { Logger } from "../../shared/logging.js";
import type { XapiCredentials } from "../xapi/credentials.js";
import { WaitTimeoutError, XapiError, XapiUnreachableError } from "../xapi/errors.js";
import { TaskCancelledError } from "../xapi/task.js";

/** The gRPC error for a failure of `context` (e.g. "JoinPool"). */
export function toAgentError(err: unknown, context: string, credentials: XapiCredentials, log?: Logger): ConnectError {
  const scrub = (text: string) => credentials.scrub(text);
  if (err instanceof XapiError) return xapiFailure(err.code, err.params.map(scrub), context);
  if (err instanceof XapiUnreachableError) {
    return err.reason === "aborted" ? new ConnectError(`${context}: cancelled`, Code.Canceled) : unavailable(`${context}: ${scrub(err.message)}`);
  }
  if (err instanceof WaitTimeoutError) return deadlineExceeded(`${context}: ${scrub(err.message)}`);
  if (err instanceof TaskCancelledError) return new ConnectError(`${context}: ${err.message}`, Code.Aborted);
  if (err instanceof ConnectError) {
    const message = scrub(err.rawMessage);
    if (message === err.rawMessage) return err;
    const copy = new ConnectError(message, err.code, err.metadata, undefined, err.cause);
    copy.details.push(...err.details);
    return copy;
  }
  return toConnectError(err, log);
}

/**
 * What failed after a mutating XenAPI call was accepted: a XenAPI error of a later read or wait is
 * no refusal of that call, so it must not reach the controller as one (a XenAPI code tells it the
 * pool was left as it was, and it would undo its record of the change). It becomes UNAVAILABLE
 * (the step runs again and finds the change made); other failures pass through.
 */
export function afterAccepted(err: unknown, accepted: string): unknown {
  if (!(err instanceof XapiError)) return err;
  return unavailable(`${accepted}; then ${err.message}`);
}

/** Wraps a unary handler: logs the outcome and maps failures with toAgentError. */
export function guarded<I, O>(
  name: string,
  credentials: XapiCredentials,
  log: Logger,
  handler: (request: I, context: HandlerContext) => Promise<O>,
): (request: I, context: HandlerContext) => Promise<O> {
  return async (request, context) => {
    const started = Date.now();
    try {
      const result = await handler(request, context);
      log.debug("call done", { method: name, ms: Date.now() - started });
      return result;
    } catch (err) {
      const mapped = toAgentError(context.signal.aborted && !(err instanceof XapiError) ? abortedCallError(context.signal) : err, name, credentials, log);
      log.warn("call failed", { method: name, code: Code[mapped.code], error: mapped.rawMessage, ms: Date.now() - started });
      throw mapped;
    }
  };
}

/** Why a call's signal aborted: the RPC deadline (a ConnectError), client cancellation, or shutdown (UNAVAILABLE). */
function abortedCallError(signal: AbortSignal): ConnectError {
  const reason: unknown = signal.reason;
  if (reason instanceof ConnectError) return reason;
  const message = reason instanceof Error ? reason.message : "call aborted";
  return new ConnectError(message, /cancel/i.test(message) ? Code.Canceled : Code.Unavailable);
}

/** Wraps a server-streaming handler: logs the outcome and maps failures with toAgentError. */
export function guardedStream<I, O>(
  name: string,
  credentials: XapiCredentials,
  log: Logger,
  handler: (request: I, context: HandlerContext) => AsyncIterable<O>,
): (request: I, context: HandlerContext) => AsyncGenerator<O> {
  return async function* (request, context) {
    const started = Date.now();
    try {
      yield* handler(request, context);
      log.debug("stream done", { method: name, ms: Date.now() - started });
    } catch (err) {
      const mapped = toAgentError(context.signal.aborted && !(err instanceof XapiError) ? abortedCallError(context.signal) : err, name, credentials, log);
      log.warn("stream failed", { method: name, code: Code[mapped.code], error: mapped.rawMessage, ms: Date.now() - started });
      throw mapped;
    }
  };
}
