/**
 * Batches heartbeat writes: the latest report per host is kept in memory and written in one
 * transaction every interval (a fleet of 1,000 hosts heartbeats about 100 times a second). The
 * store flushes before every host read, so readers see the latest report. A crash loses at most
 * one interval of liveness telemetry, which the next heartbeat rewrites; registrations and every
 * other write are not batched.
 */
import type { CapacityRecord, PoolFactsRecord } from "../model/records.js";

interface PendingBeat {
  capacity: CapacityRecord | null;
  facts: PoolFactsRecord | null;
  at: string;
}

/** Where the batcher writes. */
export interface HeartbeatSink {
  exists(name: string): boolean;
  /** Writes the batch in one transaction. */
  write(batch: ReadonlyMap<string, PendingBeat>): void;
  isOpen(): boolean;
  /** Runs fn when no transaction is open (the timer's flush must not join someone else's transaction). */
  whenIdle(fn: () => void): void;
}

/** Collects heartbeats and writes them in batches. */
export class HeartbeatBatcher {
  private pending = new Map<string, PendingBeat>();
  private timer?: NodeJS.Timeout;
  private flushing = false;

  constructor(
    private readonly sink: HeartbeatSink,
    private readonly intervalMs = 250,
    private readonly maxPending = 1000,
  ) {}

  /** Queues a heartbeat; returns false when the host is unknown (it must register again). */
  record(name: string, capacity: CapacityRecord | null, facts: PoolFactsRecord | null, at: string): boolean {
    if (!this.pending.has(name) && !this.sink.exists(name)) return false;
    this.pending.set(name, { capacity, facts, at });
    if (this.pending.size >= this.maxPending) this.flush();
    else this.timer ??= setTimeout(() => this.sink.whenIdle(() => this.flush()), this.intervalMs).unref();
    return true;
  }

  /** Writes every queued heartbeat in one transaction (a no-op when none is queued). */
  flush(): void {
    if (this.pending.size === 0 || this.flushing || !this.sink.isOpen()) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = new Map();
    this.flushing = true;
    try {
      this.sink.write(batch);
    } finally {
      this.flushing = false;
    }
  }
}
