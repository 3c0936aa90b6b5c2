/**
 * The store on SQLite (better-sqlite3: WAL, synchronous=FULL, one IMMEDIATE transaction per write).
 * The driver is synchronous and the port is async, so transactions are serialized: one runs at a
 * time (BEGIN IMMEDIATE … COMMIT around an async body), reads from outside it wait until it ends
 * (they never see uncommitted rows), and calls made inside it — through tx or through the store —
 * join it (AsyncLocalStorage tells which is which).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { acquirePidLock } from "../../shared/pid-lock.js";
import { poolStateOf } from "../model/lifecycle.js";
import { nowIso, type CapacityRecord, type PoolFactsRecord } from "../model/records.js";
import { AggregateRepo } from "./aggregate-repo.js";
import { ChangeFeed } from "./change-feed.js";
import { openDatabase, type Db } from "./database.js";
import { EventRepo } from "./event-repo.js";
import { HeartbeatBatcher } from "./heartbeat-batcher.js";
import { HostRepo } from "./host-repo.js";
import { OperationRepo } from "./operation-repo.js";
import type { AggregateStore, EventInput, EventStore, HostStore, OperationStore, Store, StoreTx, VmOriginStore } from "./store.js";
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
  readonly changes = new ChangeFeed();
  private readonly repos: { aggregates: AggregateRepo; hosts: HostRepo; operations: OperationRepo; events: EventRepo; vmOrigins: VmOriginRepo };
  private readonly heartbeats: HeartbeatBatcher;
  /** The transaction a call runs in; `open` turns false at its end, so work it started that outlives it runs as outside. */
  private readonly inTransaction = new AsyncLocalStorage<{ open: boolean }>();
  private readonly tx: StoreTx;
  /** The transactions queued or running, in order. */
  private queue: Promise<unknown> = Promise.resolve();
  private queued = 0;
  private announcements: (() => void)[] = [];
  /** Reads the first page of a table the controller needs: fails when the file or the schema cannot be read. */
  private readonly probeStatement: { get(): unknown };

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
        aggregateTouched: (id) => {
          aggregates.invalidate();
          aggregateTouched(id);
        },
        requireTransaction,
      }),
      operations: new OperationRepo(db, { aggregateTouched, requireTransaction, operationChanged: (id) => announce(() => this.changes.operationChanged(id)) }),
      events: new EventRepo(db, { requireTransaction, eventsAppended: () => announce(() => this.changes.eventsAppended()) }),
      vmOrigins: new VmOriginRepo(db, { requireTransaction }),
    };
    this.probeStatement = db.prepare("SELECT 1 FROM aggregates LIMIT 1").pluck();
    this.heartbeats = new HeartbeatBatcher({
      exists: (name) => this.repos.hosts.exists(name),
      isOpen: () => this.db.open,
      whenIdle: (fn) => void this.read(fn),
      // Runs when no transaction is open (the timer, via whenIdle), when the batch is full, and at close.
      write: (batch) =>
        this.db
          .transaction(() => {
            for (const [name, beat] of batch) this.repos.hosts.heartbeat(name, beat.capacity, beat.facts, beat.at);
          })
          .immediate(),
    });
    const view = (run: <R>(fn: () => R) => Promise<R>): StoreTx => ({
      aggregates: asyncView(this.repos.aggregates, ["get", "idByName", "list", "withHosts", "insert", "update", "setMetadata", "updatePool", "setError", "touch", "delete"], run),
      hosts: asyncView(this.repos.hosts, ["get", "list", "members", "silentSince", "register", "apply", "delete"], run),
      operations: asyncView(this.repos.operations, ["get", "insert", "save", "unfinished", "list"], run) as OperationStore,
      events: asyncView(this.repos.events, ["append", "list", "since", "lastId"], run),
      vmOrigins: asyncView(this.repos.vmOrigins, ["record", "fromHost", "byVm", "forget"], run),
    });
    this.tx = view(now);
    const outside = view((fn) => this.read(fn));
    this.aggregates = outside.aggregates;
    this.hosts = outside.hosts;
    this.operations = outside.operations;
    this.events = outside.events;
    this.vmOrigins = outside.vmOrigins;
  }

  /** Runs a read (or a write that checks for its transaction) now, or once the transactions queued before it ended. */
  private read<R>(fn: () => R): Promise<R> {
    if (this.queued === 0 || this.joining()) return now(fn);
    return this.queue.then(fn, fn);
  }

  /** True when called from inside a transaction that is still open. */
  private joining(): boolean {
    return this.inTransaction.getStore()?.open === true;
  }

  async transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    if (this.joining()) return fn(this.tx);
    const run = async (): Promise<T> => {
      this.db.exec("BEGIN IMMEDIATE");
      const marker = { open: true };
      try {
        const result = await this.inTransaction.run(marker, () => fn(this.tx));
        marker.open = false;
        this.db.exec("COMMIT");
        const announcements = this.announcements;
        this.announcements = [];
        for (const a of announcements) queueMicrotask(a);
        return result;
      } catch (err) {
        marker.open = false;
        if (this.db.inTransaction) this.db.exec("ROLLBACK");
        // A rolled-back write may have been read inside the transaction: forget cached reads.
        this.repos.aggregates.invalidate();
        this.announcements = [];
        throw err;
      }
    };
    this.queued++;
    const result = this.queue.then(run, run);
    this.queue = result.then(
      () => this.queued--,
      () => this.queued--,
    );
    return result;
  }

  appendEvent(e: EventInput): Promise<void> {
    return this.transaction(async (tx) => void (await tx.events.append(e)));
  }

  heartbeat(name: string, capacity: CapacityRecord | null, facts: PoolFactsRecord | null, at: string): Promise<boolean> {
    return this.read(() => this.heartbeats.record(name, capacity, facts, at));
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
    await this.queue;
    if (!this.db.open) return;
    this.heartbeats.flush();
    this.db.close();
    this.releaseLock();
  }
}
