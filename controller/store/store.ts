/**
 * The store port: everything the controller keeps, behind an async interface so that more than
 * one database can satisfy it (SQLite now: sqlite-store.ts). Every method returns a Promise; every
 * write runs inside transaction(async tx => …), all of it committed or none. Writes that bear on an
 * aggregate's pool state (its hosts, operations or error) derive it again through model/lifecycle,
 * so no caller sets a pool state. Host reads see batched heartbeats.
 */
import type { HostChange, PoolErrorChange } from "../model/lifecycle.js";
import type {
  AggregateRecord,
  CapacityRecord,
  EventRecord,
  HostRecord,
  OperationKindName,
  OperationOf,
  OperationParamsByKind,
  OperationRecord,
  OperationStateName,
  PoolFactsRecord,
  PoolStateName,
  StepRecord,
} from "../model/records.js";
import type { ChangeFeed } from "./change-feed.js";

/** Pool bookkeeping fields that operations and watchers update (pool state and error go through the life cycle). */
export interface PoolUpdate {
  masterHost?: string | null;
  poolUuid?: string | null;
  drift?: string[];
  lostVms?: AggregateRecord["lostVms"];
  checkedAt?: string | null;
  availabilityZone?: string | null;
  azFromHost?: boolean;
}

/** What an agent reports when it registers. */
export interface Registration {
  name: string;
  uuid: string | null;
  xapiAddress: string;
  agentEndpoint: string;
  azHint: string | null;
  capacity: CapacityRecord | null;
  poolFacts: PoolFactsRecord | null;
}

/** A new operation to record. */
export interface NewOperation<K extends OperationKindName> {
  id: string;
  kind: K;
  aggregateId: number | null;
  host: string | null;
  steps: StepRecord[];
  params: OperationParamsByKind[K];
}

/** What an event says (its time is now). */
export interface EventInput {
  kind: string;
  message: string;
  aggregateId?: number | null;
  host?: string | null;
  operationId?: string | null;
}

/** One VM moved by maintenance, and where from. */
export interface VmOrigin {
  vmUuid: string;
  vmName: string;
  originHost: string;
  movedTo: string;
  operationId: string;
  movedAt: string;
}

/** An aggregate's pool state, with what names it. */
export interface AggregatePoolState {
  id: number;
  name: string;
  poolState: PoolStateName;
}

/** Aggregates and their metadata. Records may be shared: treat them as read-only. */
export interface AggregateStore {
  get(id: number): Promise<AggregateRecord | undefined>;
  idByName(name: string): Promise<number | undefined>;
  /** A page with id > afterId, optionally of one zone, ordered by id. */
  list(options: { availabilityZone?: string; afterId: number; limit: number }): Promise<AggregateRecord[]>;
  /** A page of the aggregates that have at least one host, with id > afterId, ordered by id (for periodic passes: empty aggregates are never read). */
  withHosts(options: { afterId: number; limit: number }): Promise<AggregateRecord[]>;
  /** A page of every aggregate's id, name and pool state, with id > afterId, ordered by id (for /metrics: no record is built or cached). */
  poolStates(options: { afterId: number; limit: number }): Promise<AggregatePoolState[]>;
  /** Inserts an aggregate; undefined when the name is taken. */
  insert(name: string, availabilityZone: string | null, now: string): Promise<number | undefined>;
  update(id: number, changes: { name?: string; availabilityZone?: string }, now: string): Promise<void>;
  setMetadata(id: number, set: Record<string, string>, remove: string[], now: string): Promise<void>;
  updatePool(id: number, update: PoolUpdate, now: string): Promise<void>;
  /** Records a life-cycle change of the aggregate's error. */
  setError(id: number, change: PoolErrorChange, now: string): Promise<void>;
  /** Bumps updated_at. */
  touch(id: number, now: string): Promise<void>;
  delete(id: number): Promise<void>;
}

/** Registered hosts. */
export interface HostStore {
  get(name: string): Promise<HostRecord | undefined>;
  /** A page with name > afterName, optionally of one aggregate, ordered by name. */
  list(options: { aggregateId?: number; afterName: string; limit: number }): Promise<HostRecord[]>;
  /** The hosts of an aggregate, in the order they were added. */
  members(aggregateId: number): Promise<HostRecord[]>;
  /** The members of each of these aggregates (in members' order) in one read; one without members maps to []. */
  membersOfAggregates(aggregateIds: readonly number[]): Promise<Map<number, HostRecord[]>>;
  /** Names of live hosts whose last heartbeat is older than the cutoff. */
  silentSince(cutoffIso: string): Promise<string[]>;
  /** Inserts a new host (disabled) or refreshes a known one; true when new. */
  register(r: Registration, now: string): Promise<boolean>;
  /** Applies a life-cycle change (model/lifecycle is the only maker of one). */
  apply(name: string, change: HostChange): Promise<void>;
  delete(name: string): Promise<void>;
}

/** The operation journal. */
export interface OperationStore {
  get(id: string): Promise<OperationRecord | undefined>;
  insert<K extends OperationKindName>(op: NewOperation<K>, now: string): Promise<OperationOf<K>>;
  /** Saves the mutable fields; a cancellation request, once recorded, is never cleared. */
  save(op: OperationRecord, now: string): Promise<void>;
  /** Not yet ended (of one aggregate, or all), oldest first. */
  unfinished(aggregateId?: number): Promise<OperationRecord[]>;
  /** A page with seq < beforeSeq, newest first. */
  list(filter: { aggregateId?: number; host?: string; state?: OperationStateName; beforeSeq: number; limit: number }): Promise<OperationRecord[]>;
}

/** The event log. */
export interface EventStore {
  /** Appends an event (in the open transaction) and announces it once committed. */
  append(input: EventInput): Promise<EventRecord>;
  /** Events with id < beforeId, newest first. */
  list(filter: { aggregateId?: number; beforeId: number; limit: number }): Promise<EventRecord[]>;
  /** Events with id > afterId, oldest first. */
  since(afterId: number, aggregateId?: number): Promise<EventRecord[]>;
  lastId(): Promise<number>;
}

/** Where VMs moved by maintenance came from. */
export interface VmOriginStore {
  record(o: VmOrigin): Promise<void>;
  fromHost(originHost: string): Promise<VmOrigin[]>;
  byVm(uuids: string[]): Promise<Map<string, VmOrigin>>;
  forget(vmUuid: string): Promise<void>;
}

/** The right to run an aggregate's operations, held by one controller until it expires. */
export interface Lease {
  aggregateId: number;
  /** The controller (replica) that holds it. */
  holder: string;
  /** Grows by one whenever the lease is taken anew (another holder, or after it lapsed). */
  epoch: number;
  /** On the database's clock. */
  expiresAt: string;
}

/**
 * Per-aggregate leases (aggregate id 0: the fleet lease, for duties about hosts in no aggregate).
 * acquire, renew, lapseAll, release and current are single statements that run outside any store transaction (never in one: they must not wait for other writes, nor be rolled back with
 * them); holds runs inside one.
 */
export interface LeaseStore {
  /**
   * Takes the aggregate's lease for holder, or renews it, for ttlMs from now on the database's clock;
   * undefined while another holder's lease runs. The epoch stays while holder renews in time.
   */
  acquire(aggregateId: number, holder: string, ttlMs: number): Promise<Lease | undefined>;
  /**
   * Renews, in one statement, those of these aggregates' leases that holder still has (unexpired),
   * for ttlMs from now; returns them (epochs unchanged). A lease missing from the answer is lost.
   */
  renew(holder: string, aggregateIds: readonly number[], ttlMs: number): Promise<Lease[]>;
  /** Lapses every lease at once: only for a controller that knows every earlier holder is dead (SQLite's lock file proves it). */
  lapseAll(): Promise<void>;
  /** Gives the lease up at once (a no-op unless this holder and epoch still have it). */
  release(lease: Pick<Lease, "aggregateId" | "holder" | "epoch">): Promise<void>;
  /** The running lease of an aggregate, if any. */
  current(aggregateId: number): Promise<Lease | undefined>;
  /** The running leases of the aggregates with ids in [firstId, lastId] (one statement for a page of aggregates). */
  currentBetween(firstId: number, lastId: number): Promise<Lease[]>;
  /**
   * Inside a transaction: true when this holder still has the lease with this epoch, unexpired; it
   * then cannot change hands before the transaction ends (the fence for conditional writes).
   */
  holds(lease: Pick<Lease, "aggregateId" | "holder" | "epoch">): Promise<boolean>;
}

/** The repositories, as seen inside a transaction (or outside one, for reads). */
export interface StoreTx {
  readonly aggregates: AggregateStore;
  readonly hosts: HostStore;
  readonly operations: OperationStore;
  readonly events: EventStore;
  readonly vmOrigins: VmOriginStore;
  readonly leases: LeaseStore;
}

/** All persistent state of the controller. */
export interface Store extends StoreTx {
  /** Announces changed operations and new events once their writes committed. */
  readonly changes: ChangeFeed;
  /** Runs fn in one transaction (nested calls join the open one). */
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  /**
   * Makes this process the only one of this replica id on the database while the store is open
   * (PostgreSQL: an advisory lock keyed by the id; refused, naming the holder, when another process
   * has it). SQLite: nothing more to do, the lock file taken at open already admits one process.
   */
  claimReplica(replicaId: string): Promise<void>;
  /** Appends an event in its own transaction, or in the one already open. */
  appendEvent(e: EventInput): Promise<void>;
  /** Queues a heartbeat (written in batches); false when the host is unknown. */
  heartbeat(name: string, capacity: CapacityRecord | null, facts: PoolFactsRecord | null, at: string): Promise<boolean>;
  /**
   * A cheap check that the database can be used (for health checks): resolves once a read of the
   * schema answers, after the transactions queued before it; rejects when the database cannot be read.
   */
  probe(): Promise<void>;
  /** Writes pending heartbeats and closes the database. */
  close(): Promise<void>;
}
