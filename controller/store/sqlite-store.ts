/**
 * The store on SQLite (better-sqlite3: WAL, synchronous=FULL). The driver is synchronous and the
 * port is async, so transactions are serialized: their bodies run one at a time, in the order they
 * were asked for, and calls made inside one — through tx or through the store — join it
 * (AsyncLocalStorage tells which is which; it is switched off between groups, so requests outside
 * transactions do not pay its async hook).
 *
 * Group commit: the transactions waiting when one ends share one database transaction (BEGIN
 * IMMEDIATE, then each body inside its own SAVEPOINT when there are several, then one COMMIT, one fsync), and each caller
 * is answered only after that shared commit — so an answered write is durable, as with one commit
 * per write. A body that throws is rolled back to its savepoint alone; a failed COMMIT fails every
 * member. Reads from outside never see uncommitted rows: they run between groups, after the
 * transactions asked for before them.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { acquirePidLock } from "../../shared/pid-lock.js";
import { poolStateOf } from "../model/lifecycle.js";
import { nowIso, type CapacityRecord, type PoolFactsRecord } from "../model/records.js";
import { AggregateRepo } from "./aggregate-repo.js";
import { ChangeFeed } from "./change-feed.js";
import { commitWithoutSync, openDatabase, type Db } from "./database.js";
import { EventRepo } from "./event-repo.js";
import { HeartbeatBatcher } from "./heartbeat-batcher.js";
import { HostRepo } from "./host-repo.js";
import { LeaseRepo } from "./lease-repo.js";
import { OperationRepo } from "./operation-repo.js";
import type { AggregateStore, EventInput, EventStore, HostStore, LeaseStore, OperationStore, Store, StoreTx, VmOriginStore } from "./store.js";
import { VmOriginRepo } from "./vm-origin-repo.js";

type Async<T> = { [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<R> : never };

/** Runs fn now, as a promise (a throw becomes a rejection). */
function now<R>(fn: () => R): Promise<R> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err);
  }
}

/** An async view of a synchronous repo's methods, each run through `run`. */
function asyncView<T extends object, K extends keyof T>(repo: T, names: readonly K[], run: <R>(fn: () => R) => Promise<R>): Async<Pick<T, K>> {
  const view: Record<string, unknown> = {};
  for (const name of names) {
    const method = repo[name] as unknown as (...args: unknown[]) => unknown;
    view[name as string] = (...args: unknown[]) => run(() => method.apply(repo, args));
  }
  return view as Async<Pick<T, K>>;
}

/** A transaction asked for and not yet run. */
interface Waiting {
  fn: (tx: StoreTx) => Promise<unknown>;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/** At most this many transactions share one commit. */
const maxGroup = 256;

/**
 * Opens (creating and migrating) the SQLite store at path (":memory:" for one that needs no file).
 * One process at a time: a second controller on the same file is refused (lock file beside it).
 */
export function openSqliteStore(path: string): SqliteStore {
  if (path === ":memory:") return new SqliteStore(openDatabase(path));
  mkdirSync(dirname(path), { recursive: true });
  const release = acquirePidLock(`${path}.lock`, `the database ${path}`);
  try {
    return new SqliteStore(openDatabase(path), release);
  } catch (err) {
    release();
    throw err;
  }
}

/** The SQLite implementation of the store port. */
export class SqliteStore implements Store {
  readonly aggregates: AggregateStore;
  readonly hosts: HostStore;
  readonly operations: OperationStore;
  readonly events: EventStore;
  readonly vmOrigins: VmOriginStore;
  readonly leases: LeaseStore;
  readonly changes = new ChangeFeed();
  private readonly repos: { aggregates: AggregateRepo; hosts: HostRepo; operations: OperationRepo; events: EventRepo; vmOrigins: VmOriginRepo; leases: LeaseRepo };
  private readonly heartbeats: HeartbeatBatcher;
  /** The transaction a call runs in; `open` turns false at its end, so work it started that outlives it runs as outside. */
  private readonly inTransaction = new AsyncLocalStorage<{ open: boolean }>();
  private readonly tx: StoreTx;
  /** Transactions asked for and not yet started, in order. */
  private waiting: Waiting[] = [];
  /** Reads waiting for the transactions asked for before them. */
  private readers: { after: number; run: () => void }[] = [];
  /** Transactions asked for so far, and how many of them have ended (committed, rolled back or failed). */
  private asked = 0;
  private ended = 0;
  /** The loop running groups, while there are transactions to run. */
  private draining?: Promise<void>;
  private announcements: (() => void)[] = [];
  private commitCount = 0;
  /** Reads the first page of a table the controller needs: fails when the file or the schema cannot be read. */
  private readonly probeStatement: { get(): unknown };
  /** The statements that open, divide and end a group's transaction (prepared once: parsing them cost more than running them). */
  private readonly control: Record<"begin" | "savepoint" | "release" | "rollbackTo" | "commit" | "rollback", { run(): unknown }>;

  /** The driver handle: for store/ only (tests read pragmas through it). */
  constructor(
    readonly db: Db,
    /** Releases the database's lock file (none for an in-memory database). */
    private readonly releaseLock: () => void = () => {},
  ) {
    const requireTransaction = () => {
      if (!db.inTransaction) throw new Error("store writes must run inside store.transaction()");
    };
    const aggregateTouched = (id: number | null) => {
      if (id !== null) this.settle(id);
    };
    const announce = (fn: () => void) => this.announcements.push(fn);
    const aggregates = new AggregateRepo(db, { aggregateTouched, requireTransaction });
    this.repos = {
      aggregates,
      hosts: new HostRepo(db, {
        withPending: (host) => this.heartbeats.overlay(host),
        pendingAt: (name) => this.heartbeats.pendingAt(name),
        // A host joining, leaving or deleted changes the members of the aggregate it was or is in.
        aggregateTouched: (id) => {
          if (id !== null) aggregates.changed(id);
          aggregateTouched(id);
        },
        requireTransaction,
        deleted: (name) => this.heartbeats.drop(name),
        livenessDecided: (name) => this.heartbeats.livenessDecided(name),
      }),
      operations: new OperationRepo(db, { aggregateTouched, requireTransaction, operationChanged: (id) => announce(() => this.changes.operationChanged(id)) }),
      events: new EventRepo(db, { requireTransaction, eventsAppended: () => announce(() => this.changes.eventsAppended()) }),
      vmOrigins: new VmOriginRepo(db, { requireTransaction }),
      leases: new LeaseRepo(db, { requireTransaction }),
    };
    this.probeStatement = db.prepare("SELECT 1 FROM aggregates LIMIT 1").pluck();
    this.control = {
      begin: db.prepare("BEGIN IMMEDIATE"),
      savepoint: db.prepare("SAVEPOINT member"),
      release: db.prepare("RELEASE member"),
      rollbackTo: db.prepare("ROLLBACK TO member"),
      commit: db.prepare("COMMIT"),
      rollback: db.prepare("ROLLBACK"),
    };
    this.heartbeats = new HeartbeatBatcher({
      exists: (name) => this.repos.hosts.exists(name),
      isOpen: () => this.db.open,
      // A flush that fails (the file locked by another connection, the disk full) keeps its beats for the
      // next one (HeartbeatBatcher.keep); a database that stays unusable shows in the health probe.
      whenIdle: (fn) => void this.read(fn).catch(() => {}),
      // Runs when no transaction is open (the timer, via whenIdle), when the batch is full, and at close.
      // Heartbeats are telemetry the next one rewrites: their commit does not wait for an fsync, so the
      // event loop never blocks on the disk for them (every other write stays synchronous=FULL).
      write: (batch) => {
        commitWithoutSync(this.db, () => {
          for (const [name, beat] of batch) this.repos.hosts.heartbeat(name, beat);
        });
        this.commitCount++;
      },
    });
    const view = (run: <R>(fn: () => R) => Promise<R>): StoreTx => ({
      aggregates: asyncView(this.repos.aggregates, ["get", "idByName", "list", "withHosts", "poolStates", "insert", "update", "setMetadata", "updatePool", "setError", "touch", "delete"], run),
      hosts: asyncView(this.repos.hosts, ["get", "list", "members", "membersOfAggregates", "silentSince", "register", "apply", "delete"], run),
      operations: asyncView(this.repos.operations, ["get", "insert", "save", "unfinished", "list"], run) as OperationStore,
      events: asyncView(this.repos.events, ["append", "list", "since", "lastId"], run),
      vmOrigins: asyncView(this.repos.vmOrigins, ["record", "fromHost", "byVm", "forget"], run),
      leases: asyncView(this.repos.leases, ["acquire", "renew", "lapseAll", "release", "current", "currentBetween", "holds"], run),
    });
    // Work a body started that outlives it runs as outside (its writes refused): never inside a later transaction.
    this.tx = view((fn) => (this.joining() ? now(fn) : this.read(fn)));
    const outside = view((fn) => this.read(fn));
    this.aggregates = outside.aggregates;
    this.hosts = outside.hosts;
    this.operations = outside.operations;
    this.events = outside.events;
    this.vmOrigins = outside.vmOrigins;
    this.leases = outside.leases;
  }

  /** Runs a read (or a write that checks for its transaction) now, or once the transactions asked for before it ended. */
  private read<R>(fn: () => R): Promise<R> {
    if (this.joining() || (this.ended === this.asked && !this.db.inTransaction)) return now(fn);
    return new Promise<R>((resolve, reject) => {
      this.readers.push({
        after: this.asked,
        run: () => {
          try {
            resolve(fn());
          } catch (err) {
            reject(err);
          }
        },
      });
    });
  }

  /** Runs the reads whose transactions have all ended (called only while no transaction is open). */
  private runReaders(): void {
    while (this.readers.length > 0 && this.readers[0]!.after <= this.ended) this.readers.shift()!.run();
  }

  /** How many commits the store has made (a group commit and a heartbeat batch count once each): for specs and diagnostics. */
  get commits(): number {
    return this.commitCount;
  }

  /** True when called from inside a transaction that is still open. */
  private joining(): boolean {
    return this.inTransaction.getStore()?.open === true;
  }

  async transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    if (this.joining()) return fn(this.tx);
    return new Promise<T>((resolve, reject) => {
      this.asked++;
      this.waiting.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      // The first waiting transaction starts the loop after the I/O of this turn, so the requests
      // that arrived together (e.g. during the previous commit's fsync) share one commit.
      this.draining ??= new Promise<void>((done) => setImmediate(done)).then(() => this.drain());
    });
  }

  /** Runs groups of waiting transactions until none waits. */
  private async drain(): Promise<void> {
    try {
      while (this.waiting.length > 0) await this.runGroup(this.waiting.splice(0, maxGroup));
    } finally {
      this.draining = undefined;
      // Between groups no body runs, so nothing needs the marker: switching the storage off spares
      // every request's promises its async hook until the next group switches it on (run enables it).
      this.inTransaction.disable();
      this.runReaders();
    }
  }

  /**
   * Runs the members in one database transaction, each in a savepoint (a sole member needs none: its
   * failure rolls the whole transaction back), and answers them after its commit.
   */
  private async runGroup(members: Waiting[]): Promise<void> {
    const { control } = this;
    const sole = members.length === 1;
    const done: { member: Waiting; result: unknown; announcements: (() => void)[] }[] = [];
    const fail = (member: Waiting, err: unknown) => {
      this.ended++;
      member.reject(err);
    };
    for (const member of members) {
      try {
        // Also after an error of an earlier member made the database roll the whole transaction back.
        if (!this.db.inTransaction) control.begin.run();
        if (!sole) control.savepoint.run();
      } catch (err) {
        fail(member, err);
        continue;
      }
      const marker = { open: true };
      try {
        const result = await this.inTransaction.run(marker, () => member.fn(this.tx));
        // A statement that made the database roll the whole transaction back, whose error the body caught, left nothing to commit.
        if (!this.db.inTransaction) throw new Error("the database rolled the transaction back");
        marker.open = false;
        if (!sole) control.release.run();
        done.push({ member, result, announcements: this.announcements });
      } catch (err) {
        marker.open = false;
        // A rolled-back write may have been read inside the transaction: forget cached reads.
        this.repos.aggregates.invalidate();
        if (this.db.inTransaction && sole) {
          control.rollback.run();
        } else if (this.db.inTransaction) {
          control.rollbackTo.run();
          control.release.run();
        } else {
          // The whole transaction is gone: so are the writes of the members before this one.
          for (const d of done.splice(0)) fail(d.member, err);
        }
        fail(member, err);
      }
      this.announcements = [];
    }
    try {
      if (this.db.inTransaction) {
        control.commit.run();
        this.commitCount++;
        this.repos.aggregates.committed();
      }
    } catch (err) {
      if (this.db.inTransaction) control.rollback.run();
      this.repos.aggregates.invalidate();
      for (const d of done) fail(d.member, err);
      this.runReaders();
      return;
    }
    for (const { member, result, announcements } of done) {
      this.ended++;
      member.resolve(result);
      for (const a of announcements) queueMicrotask(a);
    }
    this.runReaders();
  }

  /** Nothing to take: the lock file taken at open admits one process (Store.claimReplica). */
  async claimReplica(): Promise<void> {}

  appendEvent(e: EventInput): Promise<void> {
    return this.transaction(async (tx) => void (await tx.events.append(e)));
  }

  async heartbeat(name: string, capacity: CapacityRecord | null, facts: PoolFactsRecord | null, at: string): Promise<boolean> {
    return await this.read(() => this.heartbeats.record(name, capacity, facts, at));
  }

  probe(): Promise<void> {
    return this.read(() => void this.probeStatement.get());
  }

  /** Derives an aggregate's pool state again after a write that bears on it (its hosts, operations or error). */
  private settle(id: number): void {
    const unfinished = this.repos.operations.unfinishedKinds(id);
    this.repos.aggregates.settle(id, (facts) => poolStateOf({ ...facts, unfinished }), nowIso());
  }

  async close(): Promise<void> {
    while (this.draining) await this.draining;
    if (!this.db.open) return;
    this.heartbeats.flush();
    this.db.close();
    this.releaseLock();
  }
}
