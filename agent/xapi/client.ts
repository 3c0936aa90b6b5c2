/**
 * The agent's XenAPI client: one session on its own host (stays there, surfaces HOST_IS_SLAVE),
 * one pool session that follows HOST_IS_SLAVE to the master, host-local sessions for the
 * emergency calls, and a monitor that notices toolstack restarts of the own host. The pool
 * session goes back to the own host (and rediscovers the master) whenever the own host
 * restarted or answers in another role or with another master than before: it may have left
 * the pool whose master the session followed (eject, emergency reset, designate).
 */
import type { XapiCredentials } from "./credentials.js";
import { hostOf, withHost } from "./endpoint.js";
import { XapiError, XapiUnreachableError, isXapiError } from "./errors.js";
import { withLocalSession, type LocalCall } from "./local-session.js";
import { XapiSession } from "./session.js";
import { ToolstackMonitor } from "./toolstack-monitor.js";
import { xapiRpc, type XapiCallOptions, type XapiCallRecorder, type XapiRpcSettings } from "./xapi-rpc.js";
import { bool, str } from "./values.js";
import type { XapiTls } from "./xmlrpc-transport.js";
import { emergencyModeCodes } from "../../shared/xapi-codes.js";

/** Options of the client. */
export interface XapiClientOptions {
  url: URL;
  credentials: XapiCredentials;
  callTimeoutMs: number;
  /** Pause between login attempts while the endpoint refuses connections. */
  retryDelayMs: number;
  loginAttempts?: number;
  tls?: XapiTls;
  /** Told when the pool session was sent back to the own host, and why (for logging). */
  onRehome?: (reason: string) => void;
  /** Told the duration and failure of every XenAPI call (metrics). */
  recorder?: XapiCallRecorder;
}

/** How an endpoint answers a login. */
export type EndpointState =
  /** hostRef: the host the session is on (only known for the own host). */
  | { kind: "master"; hostRef?: string }
  | { kind: "slave"; masterAddress: string }
  | { kind: "emergency"; code: string }
  | { kind: "unreachable"; error: XapiUnreachableError };


/** XenAPI access for one agent. */
export class XapiClient {
  readonly monitor: ToolstackMonitor;
  /** Session on the agent's own host; calls fail with HOST_IS_SLAVE when the host is a slave. */
  readonly home: XapiSession;
  /** Session on the pool master, reached through HOST_IS_SLAVE redirects. */
  readonly pool: XapiSession;
  readonly settings: XapiRpcSettings;
  /** The own host's last definite answer ("master" or "slave of ADDRESS"). */
  #homeAnswer: string | undefined;

  constructor(readonly options: XapiClientOptions) {
    this.monitor = new ToolstackMonitor(options.url);
    this.settings = { callTimeoutMs: options.callTimeoutMs, tls: options.tls, observer: this.monitor, recorder: options.recorder };
    const common = {
      ...this.settings,
      home: options.url,
      credentials: options.credentials,
      loginAttempts: options.loginAttempts,
      retryDelayMs: options.retryDelayMs,
    };
    this.home = new XapiSession({ ...common, followMaster: false });
    this.pool = new XapiSession({ ...common, followMaster: true });
    this.monitor.onChange((change) => {
      if (change.kind === "restarted") this.rehomePool(`own toolstack restarted (${change.reason})`);
    });
  }

  /**
   * Sends the pool session back to the own host; the next pool call rediscovers the master from
   * there. `logout`: also end the old session (when it is on a master whose pool we left).
   */
  rehomePool(reason: string, options: { logout?: boolean } = {}): void {
    if (this.pool.rehome(options)) this.options.onRehome?.(reason);
  }

  /** The own host's management address (from the XAPI URL). */
  get address(): string {
    return hostOf(this.options.url);
  }

  /** The XAPI endpoint of another host of the pool (same scheme and port). */
  endpointOf(address: string): URL {
    return withHost(this.options.url, address);
  }

  /** How the own host answers: as a master, a slave (naming its master), in emergency mode, or not at all. */
  async homeState(options: XapiCallOptions = {}): Promise<EndpointState> {
    let state: EndpointState;
    try {
      const hostRef = str(await this.home.callWith("session.get_this_host", (s) => [s, s], options));
      state = { kind: "master", hostRef };
    } catch (err) {
      state = await this.classify(err, options);
    }
    this.noteHomeAnswer(state);
    return state;
  }

  /** Remembers how the own host answered; a different role or master than before repoints the pool session. */
  private noteHomeAnswer(state: EndpointState): void {
    if (state.kind !== "master" && state.kind !== "slave") return;
    const answer = state.kind === "master" ? "master" : `slave of ${state.masterAddress.trim().toLowerCase()}`;
    const before = this.#homeAnswer;
    this.#homeAnswer = answer;
    if (before !== undefined && before !== answer) this.rehomePool(`own host answered as ${before}, now as ${answer}`);
  }

  /** How another endpoint answers a fresh login (logged out again at once). */
  async endpointState(url: URL, options: XapiCallOptions = {}): Promise<EndpointState> {
    const { credentials } = this.options;
    try {
      const session = str(await xapiRpc(this.settings, url, "session.login_with_password", [credentials.username, credentials.reveal(), "1.0", "host-aggregates-agent"], options));
      await xapiRpc(this.settings, url, "session.logout", [session], { timeoutMs: 2000 }).catch(() => undefined);
      return { kind: "master" };
    } catch (err) {
      if (err instanceof XapiUnreachableError) return { kind: "unreachable", error: err };
      if (isXapiError(err, "HOST_IS_SLAVE")) return { kind: "slave", masterAddress: err.params[0] ?? "" };
      if (isXapiError(err) && emergencyModeCodes.has(err.code)) return { kind: "emergency", code: err.code };
      throw err;
    }
  }

  /** Runs emergency calls with a host-local session on the own host. */
  local<T>(work: (call: LocalCall) => Promise<T>, options: XapiCallOptions = {}): Promise<T> {
    return withLocalSession(this.settings, this.options.url, this.options.credentials, work, options);
  }

  /** Logs out of every session (best effort). */
  async close(): Promise<void> {
    await Promise.all([this.home.logout(), this.pool.logout()]);
  }

  private async classify(err: unknown, options: XapiCallOptions): Promise<EndpointState> {
    if (err instanceof XapiUnreachableError) {
      if (err.reason === "aborted") throw err;
      return { kind: "unreachable", error: err };
    }
    if (isXapiError(err, "HOST_IS_SLAVE")) return { kind: "slave", masterAddress: err.params[0] ?? "" };
    if (!(err instanceof XapiError)) throw err;
    // Emergency mode answers every normal call with a stashed error; confirm with a local session.
    const inEmergency = await this.local((call) => call("host.is_in_emergency_mode"), options).then(
      (value) => bool(value),
      () => emergencyModeCodes.has(err.code),
    );
    if (inEmergency) return { kind: "emergency", code: err.code };
    throw err;
  }
}
