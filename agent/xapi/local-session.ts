/**
 * Host-local sessions (session.slave_local_login_with_password) for the emergency calls, which go
 * to the host itself even when it is a slave or in emergency mode.
 */
import type { XapiCredentials } from "./credentials.js";
import { xapiRpc, type XapiCallOptions, type XapiRpcSettings } from "./xapi-rpc.js";
import { str, type XapiParam, type XapiValue } from "./values.js";

/** Calls made with a local session. */
export type LocalCall = (method: string, params?: readonly XapiParam[], options?: XapiCallOptions) => Promise<XapiValue>;

/** Logs in locally on `host`, runs `work`, then logs out (best effort: the host may be restarting). */
export async function withLocalSession<T>(
  settings: XapiRpcSettings,
  host: URL,
  credentials: XapiCredentials,
  work: (call: LocalCall) => Promise<T>,
  options: XapiCallOptions = {},
): Promise<T> {
  const session = str(
    await xapiRpc(settings, host, "session.slave_local_login_with_password", [credentials.username, credentials.reveal()], options),
  );
  try {
    return await work((method, params = [], callOptions) => xapiRpc(settings, host, method, [session, ...params], { ...options, ...callOptions }));
  } finally {
    await xapiRpc(settings, host, "session.local_logout", [session], { timeoutMs: Math.min(2000, settings.callTimeoutMs) }).catch(() => undefined);
  }
}
