/**
 * The store on PostgreSQL (the pg driver, a pool of connections), for controllers that share one
 * database.
 *
 * Isolation: every store transaction is READ COMMITTED and starts by taking one advisory lock,
 * pg_advisory_xact_lock(advisoryLocks.writes), held until it commits or rolls back. So store
 * transactions run one at a time across every process on the database, exactly as SQLite's
 * BEGIN IMMEDIATE runs them in one process, and each one's statements see every write committed
 * before it began: every intake rule (read inside the transaction, then written) holds as it does
 * on SQLite, with nothing committing between the check and the write. Row locks would not do: the
 * rules are about rows that may not exist yet (a free name, no unfinished operation, a host in no
 * other aggregate). SERIALIZABLE would make re-running bodies routine (on 40001/40P01, under any
 * contention), where this store re-runs one only after a lost connection (pg-reconnect.ts) and
 * never for a conflict, and deadlocks cannot arise between store transactions. The price is one writer
 * at a time, which the controller's write rate (intake, journal steps, batched heartbeats) allows.
 * Reads outside a transaction take no lock and see committed rows only.
 *
 * In this process, as on SQLite: transactions are queued and run in the order asked for, a read
 * from outside waits for the transactions queued before it, calls made inside a transaction join
 * it (AsyncLocalStorage tells), and change announcements go out after the commit. Aggregate reads
 * are not cached (another process may have written the row). Once a replica id is claimed,
 * transactions also require that replica's lock (controller-lock.ts).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type pg from "pg";
import { poolStateOf } from "../model/lifecycle.js";
import { nowIso, type CapacityRecord, type PoolFactsRecord } from "../model/records.js";
import { ChangeFeed } from "./change-feed.js";
import { HeartbeatBatcher, type PendingBeat } from "./heartbeat-batcher.js";
import { PgAggregateRepo } from "./pg-aggregate-repo.js";
import { PgEventRepo } from "./pg-event-repo.js";
import { PgHostRepo } from "./pg-host-repo.js";
import { PgLeaseRepo } from "./pg-lease-repo.js";
import { PgOperationRepo } from "./pg-operation-repo.js";
import type { PgSession } from "./pg-session.js";
import { isConnectionLoss, retryOnConnectionLoss } from "./pg-reconnect.js";
import { StoreUnavailable } from "./store-unavailable.js";
import { PgVmOriginRepo } from "./pg-vm-origin-repo.js";
import { printableDatabase } from "./database-url.js";
import { acquireControllerLock, type ControllerLock } from "./controller-lock.js";
import { advisoryLocks, boundParam, migratePostgres, openPostgresPool } from "./postgres-database.js";
import type { AggregateStore, EventInput, EventStore, HostStore, LeaseStore, OperationStore, Store, StoreTx, VmOriginStore } from "./store.js";

/** The transaction a call runs in; `open` turns false at its end, so work it started that outlives it runs as outside. */
interface OpenTransaction {
  open: boolean;
  client: pg.PoolClient;
  /** Heartbeat batches written in it: kept again if it does not commit. */
  heartbeats: ReadonlyMap<string, PendingBeat>[];
}

/** Rolls the attempt back and runs it again once the controller lock is held again (classified as a lost connection). */
const lockBeingRetaken = () => Object.assign(new Error("the controller lock's connection was lost; taking it again"), { code: "08006" });

/** A connection still lost once the reconnection budget ran out becomes the port's StoreUnavailable. */
async function unavailableWhenLost<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    throw isConnectionLoss(err) ? new StoreUnavailable(`the database did not answer: ${String(err)}`, err) : err;
  }
}

/** Methods of an object, each run through `run`. */
function viewOf<T extends object, K extends keyof T>(repo: T, names: readonly K[], run: <R>(fn: () => Promise<R>) => Promise<R>): Pick<T, K> {
  const view: Record<string, unknown> = {};
  for (const name of names) {
    const method = repo[name] as unknown as (...args: unknown[]) => Promise<unknown>;
    view[name as string] = (...args: unknown[]) => run(() => method.apply(repo, args));
  }
  return view as Pick<T, K>;
}

/**
 * Connects to the database at url (postgres://USER@HOST:PORT/DB) and migrates it. With a replica id,
 * it claims it at once (claimReplica): a second store opened with the same id on the same database
 * is refused until the first closes.
 */
export async function openPostgresStore(url: string, options: { replicaId?: string } = {}): Promise<PostgresStore> {
  const pool = openPostgresPool(url);
  const store = new PostgresStore(pool, url);
  try {
    await migratePostgres(pool);
    if (options.replicaId !== undefined) await store.claimReplica(options.replicaId);
  } catch (err) {
    await pool.end();
    throw err;
  }
  return store;
}

/** The PostgreSQL implementation of the store port. */
export class PostgresStore implements Store {
  readonly aggregates: AggregateStore;
  readonly hosts: HostStore;
  readonly operations: OperationStore;
  readonly events: EventStore;
  readonly vmOrigins: VmOriginStore;
  readonly leases: LeaseStore;
  readonly changes = new ChangeFeed();
  private readonly repos: { aggregates: PgAggregateRepo; hosts: PgHostRepo; operations: PgOperationRepo; events: PgEventRepo; vmOrigins: PgVmOriginRepo; leases: PgLeaseRepo };
  private readonly heartbeats: HeartbeatBatcher;
  private readonly inTransaction = new AsyncLocalStorage<OpenTransaction>();
  private readonly tx: StoreTx;
  /** The transactions queued or running, in order. */
  private queue: Promise<unknown> = Promise.resolve();
  private queued = 0;
  private announcements: (() => void)[] = [];
  private closed = false;
  private running?: OpenTransaction;
  /** The claimed replica's lock (none until claimReplica): transactions run only while it is held. */
  private lock?: ControllerLock;

  /** The pool: for store/ only (tests read through it). */
  constructor(
    readonly pool: pg.Pool,
    /** The database's URL (for the replica lock's own connection). */
    private readonly url: string,
    /** How long a read or a transaction waits for a lost database to answer again before it fails. */
    private readonly reconnectMs = 30_000,
  ) {
    // Inside a transaction a lost connection fails the statement (the transaction is run again); outside, the statement is.
    const query = (sql: string, params: unknown[] | undefined) =>
      this.joining() ? this.connection().query(sql, params?.map(boundParam)) : unavailableWhenLost(retryOnConnectionLoss(() => this.pool.query(sql, params?.map(boundParam)), this.reconnectMs));
    const session: PgSession = {
      rows: async (sql, params) => (await query(sql, params)).rows,
      run: async (sql, params) => (await query(sql, params)).rowCount ?? 0,
      requireTransaction: () => {
        if (!this.joining()) throw new Error("store writes must run inside store.transaction()");
      },
    };
    const outsideTransactions = () => {
      if (this.joining()) throw new Error("lease calls run outside store transactions");
    };
    const alone: PgSession = {
      rows: async (sql, params) => (outsideTransactions(), (await query(sql, params)).rows),
      run: async (sql, params) => (outsideTransactions(), (await query(sql, params)).rowCount ?? 0),
      requireTransaction: () => session.requireTransaction(),
    };
    const aggregateTouched = async (id: number | null) => {
      if (id !== null) await this.settle(id);
    };
    const announce = (fn: () => void) => this.announcements.push(fn);
    this.repos = {
      aggregates: new PgAggregateRepo(session, { aggregateTouched }),
      hosts: new PgHostRepo(session, { beforeRead: () => this.flushHeartbeats(), aggregateTouched }),
      operations: new PgOperationRepo(session, { aggregateTouched, operationChanged: (id) => announce(() => this.changes.operationChanged(id)) }),
      events: new PgEventRepo(session, { eventsAppended: () => announce(() => this.changes.eventsAppended()) }),
      vmOrigins: new PgVmOriginRepo(session),
      leases: new PgLeaseRepo(session, alone),
    };
    this.heartbeats = new HeartbeatBatcher({
      exists: (name) => this.repos.hosts.exists(name),
      isOpen: () => !this.closed,
      // A failed timer flush loses one interval of telemetry, which the next heartbeat rewrites; the health probe reports the outage.
      whenIdle: (fn) => void this.transaction(async () => fn()).catch(() => {}),
      // Only ever called inside a store transaction (flushHeartbeats, whenIdle).
      write: (batch) => {
        this.inTransaction.getStore()?.heartbeats.push(batch);
        return this.repos.hosts.heartbeats(batch);
      },
    });
    const view = (run: <R>(fn: () => Promise<R>) => Promise<R>): StoreTx => ({
      aggregates: viewOf(this.repos.aggregates, ["get", "idByName", "list", "withHosts", "poolStates", "insert", "update", "setMetadata", "updatePool", "setError", "touch", "delete"], run),
      hosts: viewOf(this.repos.hosts, ["get", "list", "members", "membersOfAggregates", "silentSince", "register", "apply", "delete"], run),
      operations: viewOf(this.repos.operations, ["get", "insert", "save", "unfinished", "list"], run),
      events: viewOf(this.repos.events, ["append", "list", "since", "lastId"], run),
      vmOrigins: viewOf(this.repos.vmOrigins, ["record", "fromHost", "byVm", "forget"], run),
      // Not queued behind transactions: a renewal must not wait for other writes.
      leases: viewOf(this.repos.leases, ["acquire", "renew", "lapseAll", "release", "current", "currentBetween", "holds"], (fn) => fn()),
    });
    this.tx = view((fn) => fn());
    const outside = view((fn) => this.read(fn));
    this.aggregates = outside.aggregates;
    this.hosts = outside.hosts;
    this.operations = outside.operations;
    this.events = outside.events;
    this.vmOrigins = outside.vmOrigins;
    this.leases = outside.leases;
  }

  /** The open transaction's connection, or the pool. */
  private connection(): pg.PoolClient | pg.Pool {
    const open = this.inTransaction.getStore();
    return open?.open ? open.client : this.pool;
  }

  /** True when called from inside a transaction that is still open. */
  private joining(): boolean {
    return this.inTransaction.getStore()?.open === true;
  }

  /** True while one of this store's transactions runs (for tests: announcements come after it). */
  get transactionOpen(): boolean {
    return this.running !== undefined;
  }

  /** Runs a read (or a write that checks for its transaction) now, or once the transactions queued before it ended. */
  private read<R>(fn: () => Promise<R>): Promise<R> {
    if (this.queued === 0 || this.joining()) return fn();
    return this.queue.then(fn, fn);
  }

  /** Writes pending heartbeats before a host read: in the open transaction, else in one of their own. */
  private async flushHeartbeats(): Promise<void> {
    if (!this.heartbeats.busy) return;
    if (this.joining()) await this.heartbeats.flush();
    else await this.transaction(async () => this.heartbeats.flush());
  }

  async transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    if (this.joining()) return fn(this.tx);
    const attempt = async (): Promise<T> => {
      await this.lock?.held();
      const client = await this.pool.connect();
      // Checked out, the pool no longer listens: a connection lost between two statements would be an uncaught error.
      const ignore = () => {};
      client.on("error", ignore);
      const open: OpenTransaction = { open: true, client, heartbeats: [] };
      let broken = false;
      let committing = false;
      this.running = open;
      try {
        await client.query("BEGIN");
        await client.query("SELECT pg_advisory_xact_lock($1)", [advisoryLocks.writes]);
        // The controller lock is checked under the write lock: no write commits after it was lost.
        if (this.lock && !(await this.lock.confirm(client))) throw lockBeingRetaken();
        const result = await this.inTransaction.run(open, () => fn(this.tx));
        open.open = false;
        committing = true;
        await client.query("COMMIT");
        const announcements = this.announcements;
        this.announcements = [];
        for (const a of announcements) queueMicrotask(a);
        return result;
      } catch (err) {
        open.open = false;
        this.announcements = [];
        await client.query("ROLLBACK").catch(() => (broken = true));
        // The beats it wrote are not in the table (or, lost during COMMIT, maybe are: writing them again changes nothing).
        for (const batch of open.heartbeats) this.heartbeats.keep(batch);
        // Lost during COMMIT, the transaction may or may not have been applied: never run it again.
        if (committing && isConnectionLoss(err)) throw new StoreUnavailable(`the database connection was lost during COMMIT (the transaction may have been applied): ${String(err)}`, err);
        throw err;
      } finally {
        this.running = undefined;
        client.off("error", ignore);
        // A connection that cannot roll back is dropped, not returned to the pool.
        client.release(broken);
      }
    };
    // A transaction that lost its connection before COMMIT was rolled back by the server: run it again once the database answers.
    const run = () => unavailableWhenLost(retryOnConnectionLoss(attempt, this.reconnectMs));
    this.queued++;
    const result = this.queue.then(run, run);
    this.queue = result.then(
      () => this.queued--,
      () => this.queued--,
    );
    return result;
  }

  async claimReplica(replicaId: string): Promise<void> {
    if (this.lock) throw new Error("a replica id is claimed already");
    this.lock = await acquireControllerLock(this.url, printableDatabase(this.url), replicaId);
  }

  appendEvent(e: EventInput): Promise<void> {
    return this.transaction(async (tx) => void (await tx.events.append(e)));
  }

  async heartbeat(name: string, capacity: CapacityRecord | null, facts: PoolFactsRecord | null, at: string): Promise<boolean> {
    return await this.read(async () => this.heartbeats.record(name, capacity, facts, at));
  }

  probe(): Promise<void> {
    // No retry: the health check must see the database as it is now.
    return this.read(async () => void (await this.connection().query("SELECT 1 FROM aggregates LIMIT 1")));
  }

  /** Derives an aggregate's pool state again after a write that bears on it (its hosts, operations or error). */
  private async settle(id: number): Promise<void> {
    const unfinished = await this.repos.operations.unfinishedKinds(id);
    await this.repos.aggregates.settle(id, (facts) => poolStateOf({ ...facts, unfinished }), nowIso());
  }

  async close(): Promise<void> {
    await this.queue;
    if (this.closed) return;
    await this.flushHeartbeats().catch(() => {});
    this.closed = true;
    await this.queue;
    await this.pool.end();
    await this.lock?.release();
  }
}
