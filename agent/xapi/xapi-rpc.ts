/** One XenAPI call to one endpoint: XML-RPC transport plus envelope unwrapping, reported to an observer. */
import { XapiError, XapiUnreachableError } from "./errors.js";
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

/** Transport settings shared by every call. */
export interface XapiRpcSettings {
  callTimeoutMs: number;
  tls?: XapiTls;
  observer?: EndpointObserver;
}

/** Per-call options. */
export interface XapiCallOptions {
  /** Overrides the default call timeout (long calls such as pool.join or designate_new_master). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Calls `method` on `endpoint` and returns the XenAPI Value; throws XapiError or XapiUnreachableError. */
export async function xapiRpc(
  settings: XapiRpcSettings,
  endpoint: URL,
  method: string,
  params: readonly XapiParam[],
  options: XapiCallOptions = {},
): Promise<XapiValue> {
  let reply: XapiValue;
  try {
    reply = await xmlrpcCall(endpoint, method, params, {
      timeoutMs: options.timeoutMs ?? settings.callTimeoutMs,
      signal: options.signal,
      tls: settings.tls,
    });
  } catch (err) {
    if (err instanceof XapiUnreachableError && err.reason !== "aborted") settings.observer?.unreachable(endpoint, err);
    throw err;
  }
  try {
    const value = unwrapXapiReply(method, reply, endpointName(endpoint));
    settings.observer?.answered(endpoint);
    return value;
  } catch (err) {
    if (err instanceof XapiError) settings.observer?.answered(endpoint, err.code);
    throw err;
  }
}
