/**
 * Batches heartbeat writes: the latest report per host is kept in memory and written in one
 * transaction every interval (a fleet of 1,000 hosts heartbeats about 100 times a second). Host
 * reads never wait for that write: the store merges the pending report into what it reads
 * (withBeat), so readers see the latest report without forcing a commit, and the batch is committed
 * (synchronous=FULL) in the background when no transaction is open. A crash loses at most one
 * interval of liveness telemetry, which the next heartbeat rewrites; registrations and every other
 * write are not batched.
 */
import { reportedLiveness } from "../model/lifecycle.js";
import type { CapacityRecord, HostRecord, PoolFactsRecord } from "../model/records.js";

/** One heartbeat not yet written. */
export interface PendingBeat {
  capacity: CapacityRecord | null;
  facts: PoolFactsRecord | null;
  at: string;
}

/**
 * A host record after a heartbeat: the one rule, used both to write a beat and to serve a pending
 * one. What the beat leaves out is kept; a FAILED host stays FAILED until it is fenced
 * (model/lifecycle: reportedLiveness); a beat older than the record's last report (a registration
 * written after it) changes nothing.
 */
export function withBeat(host: HostRecord, beat: PendingBeat): HostRecord {
  if (host.lastHeartbeatAt !== null && beat.at < host.lastHeartbeatAt) return host;
  return {
    ...host,
    capacity: beat.capacity ?? host.capacity,
    poolFacts: beat.facts ?? host.poolFacts,
    uuid: beat.facts?.hostUuid || host.uuid,
    lastHeartbeatAt: beat.at,
    liveness: host.liveness === "FAILED" ? host.liveness : reportedLiveness(beat.facts),
  };
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

  /** The record as it is once the host's pending heartbeat (if any) is written. */
  overlay(host: HostRecord): HostRecord {
    const beat = this.pending.get(host.name);
    return beat ? withBeat(host, beat) : host;
  }

  /** When the host's pending heartbeat was sent, if one is pending. */
  pendingAt(name: string): string | undefined {
    return this.pending.get(name)?.at;
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
    } catch (err) {
      // Not written: keep the beats (newer ones recorded meanwhile win) so reads still see them and the next flush retries.
      for (const [name, beat] of batch) if (!this.pending.has(name)) this.pending.set(name, beat);
      this.timer ??= setTimeout(() => this.sink.whenIdle(() => this.flush()), this.intervalMs).unref();
      throw err;
    } finally {
      this.flushing = false;
    }
  }
}
