/**
 * A XenAPI session with the behaviour XenAPI clients need: login with retry, transparent
 * re-login on SESSION_INVALID (every toolstack restart kills sessions), and, for pool-level
 * work, following HOST_IS_SLAVE to the master (same port, the address XAPI names).
 */
import type { XapiCredentials } from "./credentials.js";
import { delay } from "./delay.js";
import { XapiUnreachableError, isXapiError } from "./errors.js";
import { sameEndpoint, withHost } from "./endpoint.js";
import { xapiRpc, type XapiCallOptions, type XapiRpcSettings } from "./xapi-rpc.js";
import { assertSendable, str, type XapiParam, type XapiValue } from "./values.js";
import { endpointName } from "./xmlrpc-transport.js";

/** Options of a session. */
export interface XapiSessionOptions extends XapiRpcSettings {
  /** The agent's own host. */
  home: URL;
  credentials: XapiCredentials;
  /** True: on HOST_IS_SLAVE log in to the master instead. False: stay on home and surface HOST_IS_SLAVE. */
  followMaster: boolean;
  /** Login attempts while the endpoint refuses connections (default 3). */
  loginAttempts?: number;
  /** Pause between login attempts (default 1000 ms). */
  retryDelayMs?: number;
  /** Sent as the login originator (default "host-aggregates-agent"). */
  originator?: string;
}

const maxRedirects = 3;
const maxCallAttempts = 4;

/** A lazily logged-in XenAPI session. Safe for concurrent calls (one login at a time). */
export class XapiSession {
  #ref: string | undefined;
  #url: URL;
  #login: Promise<string> | undefined;

  constructor(private readonly options: XapiSessionOptions) {
    this.#url = options.home;
  }

  /** The endpoint calls currently go to (home, or the master it redirected to). */
  get endpoint(): URL {
    return this.#url;
  }

  /** Calls `method` with the session ref followed by `params` (checked: no bigint/undefined). */
  async call(method: string, params: readonly XapiParam[] = [], options: XapiCallOptions = {}): Promise<XapiValue> {
    // Checked before logging in, so a bad parameter never causes any traffic.
    params.forEach((p, i) => assertSendable(p, `${method} param ${i}`));
    return this.callWith(method, (session) => [session, ...params], options);
  }

  /** Calls `method` with parameters built from the session ref (e.g. session.get_this_host(s, s)). */
  async callWith(method: string, build: (session: string) => readonly XapiParam[], options: XapiCallOptions = {}): Promise<XapiValue> {
    let lastError: unknown;
    for (let attempt = 0; attempt < maxCallAttempts; attempt++) {
      const session = await this.sessionRef();
      const url = this.#url;
      try {
        return await xapiRpc(this.options, url, method, build(session), options);
      } catch (err) {
        lastError = err;
        if (isXapiError(err, "SESSION_INVALID")) {
          this.forget(session);
          continue;
        }
        if (this.options.followMaster && isXapiError(err, "HOST_IS_SLAVE") && err.params[0]) {
          this.pointAt(withHost(this.options.home, err.params[0]));
          continue;
        }
        if (this.options.followMaster && err instanceof XapiUnreachableError && err.neverSent && !sameEndpoint(url, this.options.home)) {
          // The master we followed is gone (designate, emergency): rediscover from our own host.
          this.pointAt(this.options.home);
          continue;
        }
        throw err;
      }
    }
    throw lastError;
  }

  /** The current session ref, logging in first when there is none. */
  sessionRef(): Promise<string> {
    if (this.#ref) return Promise.resolve(this.#ref);
    this.#login ??= this.login().finally(() => (this.#login = undefined));
    return this.#login;
  }

  /** Drops the session (without logging out), e.g. after the host restarted; the next call logs in again. */
  reset(): void {
    this.#ref = undefined;
    this.#url = this.options.home;
  }

  /** Logs out (best effort, short timeout) and drops the session. */
  async logout(): Promise<void> {
    const ref = this.#ref;
    const url = this.#url;
    this.#ref = undefined;
    if (!ref) return;
    await xapiRpc(this.options, url, "session.logout", [ref], { timeoutMs: Math.min(2000, this.options.callTimeoutMs) }).catch(() => undefined);
  }

  private forget(session: string): void {
    if (this.#ref === session) this.#ref = undefined;
  }

  private pointAt(url: URL): void {
    this.#ref = undefined;
    this.#url = url;
  }

  private async login(): Promise<string> {
    const { credentials, home, followMaster } = this.options;
    const attempts = this.options.loginAttempts ?? 3;
    let refusals = 0;
    let redirects = 0;
    let masterUnreachable: XapiUnreachableError | undefined;
    for (;;) {
      const url = this.#url;
      try {
        const value = await xapiRpc(this.options, url, "session.login_with_password", [
          credentials.username,
          credentials.reveal(),
          "1.0",
          this.options.originator ?? "host-aggregates-agent",
        ]);
        const ref = str(value);
        if (!ref) throw new XapiUnreachableError(`${endpointName(url)} returned an empty session`, "protocol", endpointName(url));
        this.#ref = ref;
        return ref;
      } catch (err) {
        if (followMaster && isXapiError(err, "HOST_IS_SLAVE") && err.params[0]) {
          const master = withHost(home, err.params[0]);
          // Our host still names the master that just refused us: it is down, say so.
          if (masterUnreachable && masterUnreachable.endpoint === endpointName(master)) throw masterUnreachable;
          if (redirects++ >= maxRedirects) throw masterUnreachable ?? err;
          this.#url = master;
          continue;
        }
        if (err instanceof XapiUnreachableError && err.neverSent) {
          if (followMaster && !sameEndpoint(url, home)) {
            masterUnreachable = new XapiUnreachableError(`pool master at ${endpointName(url)} is unreachable`, err.reason, err.endpoint);
            this.#url = home;
            continue;
          }
          if (++refusals < attempts) {
            await delay(this.options.retryDelayMs ?? 1000);
            continue;
          }
        }
        throw err;
      }
    }
  }
}
