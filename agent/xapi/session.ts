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
/** Logins thrown away because the session was repointed meanwhile, before giving up. */
const maxDiscardedLogins = 3;

/** A session ref and the endpoint it was obtained from (a ref is only ever sent there). */
interface Current {
  ref: string;
  url: URL;
}

/** A lazily logged-in XenAPI session. Safe for concurrent calls (one login at a time). */
export class XapiSession {
  #current: Current | undefined;
  /** Where the next login starts (home, or the master a HOST_IS_SLAVE named). */
  #url: URL;
  #login: Promise<Current> | undefined;
  /** Bumped whenever the session is repointed, so a login that raced with it is not kept. */
  #generation = 0;

  constructor(private readonly options: XapiSessionOptions) {
    this.#url = options.home;
  }

  /**
   * Grows whenever the session is repointed (rehome, HOST_IS_SLAVE during a call, a lost master):
   * reads made while it stayed the same all went to one endpoint.
   */
  get generation(): number {
    return this.#generation;
  }

  /** The endpoint calls currently go to (home, or the master it redirected to). */
  get endpoint(): URL {
    return this.#current?.url ?? this.#url;
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
      const current = await this.current();
      const url = current.url;
      try {
        return await xapiRpc(this.options, url, method, build(current.ref), options);
      } catch (err) {
        lastError = err;
        if (isXapiError(err, "SESSION_INVALID")) {
          this.forget(current);
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
  async sessionRef(): Promise<string> {
    return (await this.current()).ref;
  }

  /**
   * Points the session back at the agent's own host: the next call logs in there and, for a
   * pool session, rediscovers the master through HOST_IS_SLAVE. Used when the own host
   * restarted, changed role or master, or when the master's view no longer lists the own host
   * (it left that pool). The old session is dropped without logging out unless `logout` is set
   * (an Async task it started may still be watched; XAPI expires idle sessions); a session on
   * the own host itself is never logged out here. Returns true when it pointed elsewhere.
   */
  rehome(options: { logout?: boolean } = {}): boolean {
    const { home } = this.options;
    const old = this.#current;
    const moved = !sameEndpoint(this.endpoint, home) || !sameEndpoint(this.#url, home);
    this.pointAt(home);
    if (options.logout && old && !sameEndpoint(old.url, home)) this.logoutQuietly(old);
    return moved;
  }

  /** Logs out (best effort, short timeout) and drops the session. */
  async logout(): Promise<void> {
    const old = this.#current;
    this.#current = undefined;
    this.#generation++;
    if (!old) return;
    await xapiRpc(this.options, old.url, "session.logout", [old.ref], { timeoutMs: Math.min(2000, this.options.callTimeoutMs) }).catch(() => undefined);
  }

  private current(): Promise<Current> {
    if (this.#current) return Promise.resolve(this.#current);
    this.#login ??= this.loginCurrent().finally(() => (this.#login = undefined));
    return this.#login;
  }

  private forget(current: Current): void {
    if (this.#current === current) this.#current = undefined;
  }

  private pointAt(url: URL): void {
    this.#current = undefined;
    this.#url = url;
    this.#generation++;
  }

  /** Logs in from #url; a login that raced with a repoint (rehome) is discarded (logged out) and redone. */
  private async loginCurrent(): Promise<Current> {
    for (let discarded = 0; ; discarded++) {
      const generation = this.#generation;
      const result = await this.login(generation);
      if (generation === this.#generation || discarded >= maxDiscardedLogins) {
        this.#url = result.url;
        this.#current = result;
        return result;
      }
      this.logoutQuietly(result);
    }
  }

  /** session.logout in the background (best effort, short timeout). */
  private logoutQuietly(old: Current): void {
    void xapiRpc(this.options, old.url, "session.logout", [old.ref], { timeoutMs: Math.min(2000, this.options.callTimeoutMs) }).catch(() => undefined);
  }

  /** Logs in, starting at #url and following redirects; moves #url along unless the session was repointed meanwhile. */
  private async login(generation: number): Promise<Current> {
    const { credentials, home, followMaster } = this.options;
    const attempts = this.options.loginAttempts ?? 3;
    let refusals = 0;
    let redirects = 0;
    let masterUnreachable: XapiUnreachableError | undefined;
    let url = this.#url;
    const moveTo = (next: URL) => {
      url = next;
      if (this.#generation === generation) this.#url = next;
    };
    for (;;) {
      try {
        const value = await xapiRpc(this.options, url, "session.login_with_password", [
          credentials.username,
          credentials.reveal(),
          "1.0",
          this.options.originator ?? "host-aggregates-agent",
        ]);
        const ref = str(value);
        if (!ref) throw new XapiUnreachableError(`${endpointName(url)} returned an empty session`, "protocol", endpointName(url));
        return { ref, url };
      } catch (err) {
        if (followMaster && isXapiError(err, "HOST_IS_SLAVE") && err.params[0]) {
          const master = withHost(home, err.params[0]);
          // Our host still names the master that just refused us: it is down, say so.
          if (masterUnreachable && masterUnreachable.endpoint === endpointName(master)) throw masterUnreachable;
          if (redirects++ >= maxRedirects) throw masterUnreachable ?? err;
          moveTo(master);
          continue;
        }
        if (err instanceof XapiUnreachableError && err.neverSent) {
          if (followMaster && !sameEndpoint(url, home)) {
            masterUnreachable = new XapiUnreachableError(`pool master at ${endpointName(url)} is unreachable`, err.reason, err.endpoint);
            moveTo(home);
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
