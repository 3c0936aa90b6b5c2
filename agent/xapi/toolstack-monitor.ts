/**
 * Notices restarts of the agent's own host toolstack from the outcomes of XAPI calls: sessions
 * invalidated, or the endpoint going away and coming back. Each restart bumps `epoch`.
 */
import { sameEndpoint } from "./endpoint.js";
import type { XapiUnreachableError } from "./errors.js";
import type { EndpointObserver } from "./xapi-rpc.js";

/** What changed. */
export type ToolstackChange = { kind: "restarted"; reason: string; epoch: number } | { kind: "unreachable"; reason: string };

/** Tracks reachability and restarts of one XAPI endpoint. */
export class ToolstackMonitor implements EndpointObserver {
  #epoch = 0;
  #reachable: boolean | undefined;
  readonly #listeners = new Set<(change: ToolstackChange) => void>();

  constructor(private readonly home: URL) {}

  /** Incremented on every detected toolstack restart. */
  get epoch(): number {
    return this.#epoch;
  }

  /** Whether the last call reached XAPI (undefined before the first call). */
  get reachable(): boolean | undefined {
    return this.#reachable;
  }

  /** Subscribes to changes; returns the unsubscribe function. */
  onChange(listener: (change: ToolstackChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  answered(endpoint: URL, failureCode?: string): void {
    if (!sameEndpoint(endpoint, this.home)) return;
    const wasDown = this.#reachable === false;
    this.#reachable = true;
    if (wasDown) this.bump("XAPI endpoint came back");
    else if (failureCode === "SESSION_INVALID") this.bump("sessions were invalidated");
  }

  unreachable(endpoint: URL, err: XapiUnreachableError): void {
    if (!sameEndpoint(endpoint, this.home) || this.#reachable === false) return;
    this.#reachable = false;
    this.emit({ kind: "unreachable", reason: err.message });
  }

  private bump(reason: string): void {
    this.#epoch++;
    this.emit({ kind: "restarted", reason, epoch: this.#epoch });
  }

  private emit(change: ToolstackChange): void {
    for (const listener of this.#listeners) listener(change);
  }
}
