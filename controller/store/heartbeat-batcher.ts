/**
 * Batches heartbeat writes: the latest report per host is kept in memory and written in one
 * transaction every interval (DESIGN.md §6: 1,000 hosts heartbeating). Reads of hosts flush first,
 * so callers see their own writes. A crash loses at most one interval of liveness telemetry,
 * which the next heartbeat rewrites; registrations and every other write are not batched.
 */
import type { Store } from "./store.js";
import type { CapacityRecord, PoolFactsRecord } from "../model/records.js";

interface PendingBeat {
  capacity: CapacityRecord | null;
  facts: PoolFactsRecord | null;
  at: string;
}

/** Collects heartbeats and writes them in batches. */
export class HeartbeatBatcher {
  private pending = new Map<string, PendingBeat>();
  private readonly known: (name: string) => boolean;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly store: Store,
    private readonly intervalMs = 250,
    private readonly maxPending = 1000,
  ) {
    const stmt = store.db.prepare("SELECT 1 FROM hosts WHERE name = ?").pluck();
    this.known = (name) => stmt.get(name) !== undefined;
  }

  /** Queues a heartbeat; returns false when the host is unknown (it must register again). */
  record(name: string, capacity: CapacityRecord | null, facts: PoolFactsRecord | null, at: string): boolean {
    if (!this.pending.has(name) && !this.known(name)) return false;
    this.pending.set(name, { capacity, facts, at });
    if (this.pending.size >= this.maxPending) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.intervalMs).unref();
    return true;
  }

  /** Writes every queued heartbeat in one transaction. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0 || !this.store.db.open) return;
    const batch = this.pending;
    this.pending = new Map();
    this.store.transaction(() => {
      for (const [name, beat] of batch) this.store.hosts.heartbeat(name, beat.capacity, beat.facts, beat.at);
    });
  }
}
