/**
 * The controller's store: one SQLite database, its repositories, and transactions. The only
 * importer of the database driver is this folder. Every write runs inside transaction(); every write
 * that bears on an aggregate's pool state (its hosts, operations or error) derives it again through
 * the life cycle (model/lifecycle), so no caller ever sets a pool state. Host reads see batched heartbeats.
 */
import { poolStateOf } from "../model/lifecycle.js";
import type { CapacityRecord, PoolFactsRecord } from "../model/records.js";
import { nowIso } from "../model/records.js";
import { AggregateRepo } from "./aggregate-repo.js";
import { ChangeFeed } from "./change-feed.js";
import { openDatabase, type Db } from "./database.js";
import { EventRepo, type EventInput } from "./event-repo.js";
import { HeartbeatBatcher } from "./heartbeat-batcher.js";
import { HostRepo } from "./host-repo.js";
import { OperationRepo } from "./operation-repo.js";
import { VmOriginRepo } from "./vm-origin-repo.js";

/** All persistent state of the controller. */
export class Store {
  readonly aggregates: AggregateRepo;
  readonly hosts: HostRepo;
  readonly operations: OperationRepo;
  readonly events: EventRepo;
  readonly vmOrigins: VmOriginRepo;
  /** Announces changed operations and new events to waiting calls (after the write commits). */
  readonly changes = new ChangeFeed();
  private readonly heartbeats: HeartbeatBatcher;
  private announcements: (() => void)[] = [];

  /** The driver handle: for store/ only (tests read pragmas through it). */
  private constructor(readonly db: Db) {
    const requireTransaction = () => {
      if (!db.inTransaction) throw new Error("store writes must run inside store.transaction()");
    };
    const aggregateTouched = (id: number | null) => {
      if (id !== null) this.settle(id);
    };
    const announce = (fn: () => void) => this.announcements.push(fn);
    this.aggregates = new AggregateRepo(db, { aggregateTouched, requireTransaction });
    this.hosts = new HostRepo(db, {
      beforeRead: () => this.heartbeats.flush(),
      aggregateTouched: (id) => {
        this.aggregates.invalidate();
        aggregateTouched(id);
      },
      requireTransaction,
    });
    this.operations = new OperationRepo(db, { aggregateTouched, requireTransaction, operationChanged: (id) => announce(() => this.changes.operationChanged(id)) });
    this.events = new EventRepo(db, { requireTransaction, eventsAppended: () => announce(() => this.changes.eventsAppended()) });
    this.vmOrigins = new VmOriginRepo(db, { requireTransaction });
    this.heartbeats = new HeartbeatBatcher({
      exists: (name) => this.hosts.exists(name),
      isOpen: () => this.db.open,
      write: (batch) =>
        this.transaction(() => {
          for (const [name, beat] of batch) this.hosts.heartbeat(name, beat.capacity, beat.facts, beat.at);
        }),
    });
  }

  /** Opens the database at path (":memory:" for tests that need no file). */
  static open(path: string): Store {
    return new Store(openDatabase(path));
  }

  /** Queues a heartbeat (written in batches); false when the host is unknown. */
  heartbeat(name: string, capacity: CapacityRecord | null, facts: PoolFactsRecord | null, at: string): boolean {
    return this.heartbeats.record(name, capacity, facts, at);
  }

  /** Appends an event in its own transaction, or in the one already open. */
  appendEvent(e: EventInput): void {
    this.transaction(() => this.events.append(e));
  }

  /** Runs fn in one IMMEDIATE transaction (all of it is written, or none); nested calls join the outer one. */
  transaction<T>(fn: () => T): T {
    if (this.db.inTransaction) return fn();
    try {
      const result = this.db
        .transaction(fn)
        .immediate();
      const announcements = this.announcements;
      this.announcements = [];
      for (const a of announcements) queueMicrotask(a);
      return result;
    } catch (err) {
      // A rolled-back write may have been read inside the transaction: forget cached reads.
      this.aggregates.invalidate();
      this.announcements = [];
      throw err;
    }
  }

  /** Derives an aggregate's pool state again after a write that bears on it (its hosts, operations or error). */
  private settle(id: number): void {
    const unfinished = this.operations.unfinishedKinds(id);
    this.aggregates.settle(id, (facts) => poolStateOf({ ...facts, unfinished }), nowIso());
  }

  /** Writes pending heartbeats and closes the database. */
  close(): void {
    if (!this.db.open) return;
    this.heartbeats.flush();
    this.db.close();
  }
}
