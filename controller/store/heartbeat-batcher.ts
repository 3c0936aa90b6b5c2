/**
 * Batches heartbeat writes: the latest report per host is kept in memory and written in one
 * transaction every interval (a fleet of 1,000 hosts heartbeats about 100 times a second). The
 * store flushes before every host read, so readers see the latest report. A crash loses at most
 * one interval of liveness telemetry, which the next heartbeat rewrites; registrations and every
 * other write are not batched. The sink may be synchronous (SQLite: a flush has written when it
 * returns) or asynchronous (PostgreSQL: a flush resolves once written; a flush asked for while
 * one is being written resolves after it, and writes what came in meanwhile).
 */
import type { CapacityRecord, PoolFactsRecord } from "../model/records.js";

/** A value now, or later. */
export type MaybePromise<T> = T | Promise<T>;

const isPromise = <T>(value: MaybePromise<T>): value is Promise<T> => value instanceof Promise;

/** One host's latest report. */
export interface PendingBeat {
  capacity: CapacityRecord | null;
  facts: PoolFactsRecord | null;
  at: string;
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
    const beat = { capacity, facts, at };
    if (this.pending.has(name)) return this.queue(name, beat);
    const known = this.sink.exists(name);
    return isPromise(known) ? known.then((k) => k && this.queue(name, beat)) : known && this.queue(name, beat);
  }

  private queue(name: string, beat: PendingBeat): true {
    this.pending.set(name, beat);
    if (this.pending.size >= this.maxPending) this.sink.whenIdle(() => this.flush());
    else this.timer ??= setTimeout(() => this.sink.whenIdle(() => this.flush()), this.intervalMs).unref();
    return true;
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
      throw err;
    }
    if (!isPromise(written)) {
      this.flushing = false;
      return;
    }
    const writing = written.finally(() => {
      this.flushing = false;
      this.writing = undefined;
    });
    this.writing = writing;
    return writing;
  }
}
