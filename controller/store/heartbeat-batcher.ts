/**
 * Batches heartbeat writes: the latest report per host is kept in memory and written in one
 * transaction every interval (a fleet of 1,000 hosts heartbeats about 100 times a second). The
 * SQLite store's host reads never wait for that write: they merge the pending report into what they
 * read (overlay, withBeat), so readers see the latest report without forcing a commit, and the batch
 * is committed in the background when no transaction is open (SQLite: without waiting for an fsync,
 * database.ts commitWithoutSync). A crash of the controller loses at most one interval of liveness
 * telemetry (a power loss the beats since the last synchronous commit or checkpoint), which the next
 * heartbeat rewrites; registrations and every other write are not batched and stay synchronous. A batch that fails to be written keeps its beats. The sink may
 * be synchronous (SQLite: a flush has written when it returns) or asynchronous (PostgreSQL: a flush
 * resolves once written; a flush asked for while one is being written resolves after it, and writes
 * what came in meanwhile).
 */
import { reportedLiveness } from "../model/lifecycle.js";
import type { CapacityRecord, HostRecord, LivenessName, PoolFactsRecord } from "../model/records.js";

/** A value now, or later. */
export type MaybePromise<T> = T | Promise<T>;

const isPromise = <T>(value: MaybePromise<T>): value is Promise<T> => value instanceof Promise;

/** One heartbeat not yet written (or several of one host's, merged: mergeBeats). */
export interface PendingBeat {
  capacity: CapacityRecord | null;
  facts: PoolFactsRecord | null;
  at: string;
  /** The liveness the newest report implies; null once a newer life-cycle change decided the host's liveness. */
  liveness: LivenessName | null;
}

/** A heartbeat as received. */
export function beatOf(capacity: CapacityRecord | null, facts: PoolFactsRecord | null, at: string): PendingBeat {
  return { capacity, facts, at, liveness: reportedLiveness(facts) };
}

/** Two unwritten beats of one host as one, as writing them one after the other would leave the record: the newer wins, and what it leaves out the older gives. */
export function mergeBeats(a: PendingBeat, b: PendingBeat): PendingBeat {
  const [older, newer] = b.at < a.at ? [b, a] : [a, b];
  return { capacity: newer.capacity ?? older.capacity, facts: newer.facts ?? older.facts, at: newer.at, liveness: newer.liveness };
}

/** The fields of a host record that a heartbeat reads and changes. */
export type BeatFields = Pick<HostRecord, "capacity" | "poolFacts" | "uuid" | "lastHeartbeatAt" | "liveness">;

/**
 * A host record (or just its BeatFields) after a heartbeat: the one rule, used both to write a beat
 * and to serve a pending one. What the beat leaves out is kept; a FAILED host stays FAILED until it
 * is fenced (model/lifecycle: reportedLiveness), and a beat whose liveness a newer life-cycle change
 * decided leaves it as that change wrote it; a beat older than the record's last report (a
 * registration written after it) changes nothing: the same object is returned.
 */
export function withBeat<H extends BeatFields>(host: H, beat: PendingBeat): H {
  if (host.lastHeartbeatAt !== null && beat.at < host.lastHeartbeatAt) return host;
  return {
    ...host,
    capacity: beat.capacity ?? host.capacity,
    poolFacts: beat.facts ?? host.poolFacts,
    uuid: beat.facts?.hostUuid || host.uuid,
    lastHeartbeatAt: beat.at,
    liveness: host.liveness === "FAILED" || beat.liveness === null ? host.liveness : beat.liveness,
  };
}

/** Where the batcher writes. */
export interface HeartbeatSink {
  exists(name: string): MaybePromise<boolean>;
  /** Writes the batch in one transaction. */
  write(batch: ReadonlyMap<string, PendingBeat>): MaybePromise<void>;
  isOpen(): boolean;
  /** Runs fn when no transaction is open (the timer's flush must not join someone else's transaction). */
  whenIdle(fn: () => MaybePromise<void>): void;
}

/** Collects heartbeats and writes them in batches. */
export class HeartbeatBatcher {
  private pending = new Map<string, PendingBeat>();
  private timer?: NodeJS.Timeout;
  private flushing = false;
  /** The asynchronous write under way, if any. */
  private writing?: Promise<void>;

  constructor(
    private readonly sink: HeartbeatSink,
    private readonly intervalMs = 250,
    private readonly maxPending = 1000,
  ) {}

  /** True when heartbeats wait to be written (or are being written). */
  get busy(): boolean {
    return this.pending.size > 0 || this.writing !== undefined;
  }

  /** Queues a heartbeat; returns false when the host is unknown (it must register again). */
  record(name: string, capacity: CapacityRecord | null, facts: PoolFactsRecord | null, at: string): MaybePromise<boolean> {
    const beat = beatOf(capacity, facts, at);
    if (this.pending.has(name)) return this.queue(name, beat);
    const known = this.sink.exists(name);
    return isPromise(known) ? known.then((k) => k && this.queue(name, beat)) : known && this.queue(name, beat);
  }

  private queue(name: string, beat: PendingBeat): true {
    const earlier = this.pending.get(name);
    this.pending.set(name, earlier ? mergeBeats(earlier, beat) : beat);
    if (this.pending.size >= this.maxPending) this.sink.whenIdle(() => this.flush());
    else this.timer ??= setTimeout(() => this.sink.whenIdle(() => this.flush()), this.intervalMs).unref();
    return true;
  }

  /** The record as it is once the host's pending heartbeat (if any) is written. */
  overlay(host: HostRecord): HostRecord {
    const beat = this.pending.get(host.name);
    return beat ? withBeat(host, beat) : host;
  }

  /** Forgets the host's pending heartbeat (the host is deleted; if that is rolled back, its next heartbeat rewrites what was lost). */
  drop(name: string): void {
    this.pending.delete(name);
  }

  /**
   * A life-cycle change is writing the host's liveness (e.g. the fence of a FAILED former master): its
   * pending heartbeat, older, no longer decides it (its capacity and facts still apply). If the change
   * is rolled back, the host's next heartbeat reports its liveness again.
   */
  livenessDecided(name: string): void {
    const beat = this.pending.get(name);
    if (beat) this.pending.set(name, { ...beat, liveness: null });
  }

  /** When the host's pending heartbeat was sent, if one is pending. */
  pendingAt(name: string): string | undefined {
    return this.pending.get(name)?.at;
  }

  /** Writes every queued heartbeat in one transaction (a no-op when none is queued). */
  flush(): MaybePromise<void> {
    if (this.writing) return this.writing.then(() => this.flush());
    if (this.pending.size === 0 || this.flushing || !this.sink.isOpen()) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = new Map();
    this.flushing = true;
    let written: MaybePromise<void>;
    try {
      written = this.sink.write(batch);
    } catch (err) {
      this.flushing = false;
      this.keep(batch);
      throw err;
    }
    if (!isPromise(written)) {
      this.flushing = false;
      return;
    }
    const writing = written
      .catch((err: unknown) => {
        this.keep(batch);
        throw err;
      })
      .finally(() => {
        this.flushing = false;
        this.writing = undefined;
      });
    this.writing = writing;
    return writing;
  }

  /**
   * A batch that was not written, or whose transaction did not commit: its beats are kept (merged
   * with those recorded meanwhile), so reads still see them and the next flush writes them.
   */
  keep(batch: ReadonlyMap<string, PendingBeat>): void {
    for (const [name, beat] of batch) {
      const later = this.pending.get(name);
      this.pending.set(name, later ? mergeBeats(beat, later) : beat);
    }
    this.timer ??= setTimeout(() => this.sink.whenIdle(() => this.flush()), this.intervalMs).unref();
  }
}
