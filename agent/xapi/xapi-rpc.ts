/** One XenAPI call to one endpoint: XML-RPC transport plus envelope unwrapping, reported to an observer and a recorder. */
import { XapiError, XapiUnreachableError, type UnreachableReason } from "./errors.js";
import { unwrapXapiReply } from "./response.js";
import type { XapiParam, XapiValue } from "./values.js";
import { endpointName, xmlrpcCall, type XapiTls } from "./xmlrpc-transport.js";

/** Told about every outcome of every call, so toolstack restarts can be noticed. */
export interface EndpointObserver {
  /** The endpoint answered (successfully or with a XenAPI failure). */
  answered(endpoint: URL, failureCode?: string): void;
  /** The endpoint could not be reached. */
  unreachable(endpoint: URL, err: XapiUnreachableError): void;
}

/** How a call failed, as the metrics see it: a XenAPI error code, a transport failure, or the caller gave up. */
export type XapiCallFailure = { kind: "xenapi"; code: string } | { kind: "unreachable"; reason: UnreachableReason } | { kind: "cancelled" };

/** Told how long every call took and how it failed (the method name only, never its parameters). */
export interface XapiCallRecorder {
  callEnded(method: string, seconds: number, failure?: XapiCallFailure): void;
}

/** Transport settings shared by every call. */
export interface XapiRpcSettings {
  callTimeoutMs: number;
  tls?: XapiTls;
  observer?: EndpointObserver;
  recorder?: XapiCallRecorder;
}

/** Per-call options. */
export interface XapiCallOptions {
  /** Overrides the default call timeout (long calls such as pool.join or designate_new_master). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

function failureOf(err: unknown): XapiCallFailure | undefined {
  if (err instanceof XapiError) return { kind: "xenapi", code: err.code };
  if (err instanceof XapiUnreachableError) return err.reason === "aborted" ? { kind: "cancelled" } : { kind: "unreachable", reason: err.reason };
  return undefined;
}

/** Calls `method` on `endpoint` and returns the XenAPI Value; throws XapiError or XapiUnreachableError. */
export async function xapiRpc(
  settings: XapiRpcSettings,
  endpoint: URL,
  method: string,
  params: readonly XapiParam[],
  options: XapiCallOptions = {},
): Promise<XapiValue> {
  const started = performance.now();
  const record = (err?: unknown) => {
    const failure = err === undefined ? undefined : failureOf(err);
    // Anything else (an unsendable parameter) was refused before any traffic: not a call.
    if (err === undefined || failure) settings.recorder?.callEnded(method, (performance.now() - started) / 1000, failure);
  };
  let reply: XapiValue;
  try {
    reply = await xmlrpcCall(endpoint, method, params, {
      timeoutMs: options.timeoutMs ?? settings.callTimeoutMs,
      signal: options.signal,
      tls: settings.tls,
    });
  } catch (err) {
    record(err);
    if (err instanceof XapiUnreachableError && err.reason !== "aborted") settings.observer?.unreachable(endpoint, err);
    throw err;
  }
  try {
    const value = unwrapXapiReply(method, reply, endpointName(endpoint));
    record();
    settings.observer?.answered(endpoint);
    return value;
  } catch (err) {
    record(err);
    if (err instanceof XapiError) settings.observer?.answered(endpoint, err.code);
    throw err;
  }
}
