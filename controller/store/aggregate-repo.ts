/** Aggregates and their metadata in SQLite. Callers wrap writes in a transaction. */
import { randomUUID } from "node:crypto";
import { SqliteError, type Statement } from "better-sqlite3";
import type { PoolErrorChange } from "../model/lifecycle.js";
import type { AggregateRecord, MemberRecord, MembershipName, PoolErrorRecord, PoolStateName } from "../model/records.js";
import { statement, type Db } from "./database.js";
import { toJson } from "./json-column.js";
import { hydrateAggregate, poolFactsOf, poolUpdateColumns, type AggregateRow } from "./rows.js";
import type { AggregatePoolState, PoolUpdate } from "./store.js";

/** Data access for aggregates. */
export class AggregateRepo {
  private readonly byId: Statement<[number], AggregateRow>;
  private readonly byName: Statement<[string], AggregateRow>;
  private readonly metadataOf: Statement<[number], { key: string; value: string }>;
  private readonly membersOf: Statement<[number], { name: string; membership: MembershipName }>;
  private readonly insertRow: Statement<[string, string, string | null, string, string], AggregateRow>;
  private readonly touchRow: Statement<[string, number]>;
  private readonly listAll: Statement<[number, number], AggregateRow>;
  private readonly listZone: Statement<[string, number, number], AggregateRow>;
  private readonly metadataRange: Statement<[number, number], { aggregate_id: number; key: string; value: string }>;
  private readonly membersRange: Statement<[number, number], { aggregate_id: number; name: string; membership: MembershipName }>;
  private readonly withHostsRows: Statement<[number, number], AggregateRow>;
  private readonly withHostsMetadata: Statement<[number, number], { aggregate_id: number; key: string; value: string }>;
  private readonly withHostsMembers: Statement<[number, number], { aggregate_id: number; name: string; membership: MembershipName }>;
  private readonly poolStateRows: Statement<[number, number], { id: number; name: string; pool_state: PoolStateName }>;
  private readonly deleteKey: Statement<[number, string]>;
  private readonly putKey: Statement<[number, string, string]>;
  /**
   * Committed aggregates, by id. The controller is the only writer: every write to an aggregate (its
   * row, metadata or members: changed(id)) drops its entry at once, so an entry is the aggregate as
   * the database holds it, also inside a transaction, which reads it from here too.
   */
  private readonly cache = new Map<number, AggregateRecord>();
  /**
   * Aggregates as the open transaction wrote them (read back after its writes, or inserted): they
   * join the cache when it commits (committed()); a rollback drops them (invalidate()).
   */
  private readonly written = new Map<number, AggregateRecord>();
  /** Pages of list() read outside transactions, by zone, afterId and limit; cleared by every write. */
  private readonly pages = new Map<string, AggregateRecord[]>();

  constructor(
    private readonly db: Db,
    private readonly hooks: { aggregateTouched(id: number): void; requireTransaction(): void },
  ) {
    this.listAll = db.prepare("SELECT * FROM aggregates WHERE id > ? ORDER BY id LIMIT ?");
    this.listZone = db.prepare("SELECT * FROM aggregates WHERE availability_zone = ? AND id > ? ORDER BY id LIMIT ?");
    this.metadataRange = db.prepare("SELECT aggregate_id, key, value FROM aggregate_metadata WHERE aggregate_id BETWEEN ? AND ? ORDER BY key");
    this.membersRange = db.prepare("SELECT aggregate_id, name, membership FROM hosts WHERE aggregate_id BETWEEN ? AND ? ORDER BY member_seq, name");
    // The ids of a page of aggregates that have hosts, read from the hosts index (never a scan of the aggregates).
    const withHostsIds = "SELECT DISTINCT aggregate_id FROM hosts WHERE aggregate_id > ? ORDER BY aggregate_id LIMIT ?";
    this.withHostsRows = db.prepare(`SELECT * FROM aggregates WHERE id IN (${withHostsIds}) ORDER BY id`);
    this.withHostsMetadata = db.prepare(`SELECT aggregate_id, key, value FROM aggregate_metadata WHERE aggregate_id IN (${withHostsIds}) ORDER BY key`);
    this.withHostsMembers = db.prepare(`SELECT aggregate_id, name, membership FROM hosts WHERE aggregate_id IN (${withHostsIds}) ORDER BY member_seq, name`);
    this.poolStateRows = db.prepare("SELECT id, name, pool_state FROM aggregates WHERE id > ? ORDER BY id LIMIT ?");
    this.deleteKey = db.prepare("DELETE FROM aggregate_metadata WHERE aggregate_id = ? AND key = ?");
    this.putKey = db.prepare(
      "INSERT INTO aggregate_metadata (aggregate_id, key, value) VALUES (?, ?, ?) ON CONFLICT(aggregate_id, key) DO UPDATE SET value = excluded.value",
    );
    this.byId = db.prepare("SELECT * FROM aggregates WHERE id = ?");
    this.byName = db.prepare("SELECT * FROM aggregates WHERE name = ?");
    this.metadataOf = db.prepare("SELECT key, value FROM aggregate_metadata WHERE aggregate_id = ? ORDER BY key");
    this.membersOf = db.prepare("SELECT name, membership FROM hosts WHERE aggregate_id = ? ORDER BY member_seq, name");
    this.insertRow = db.prepare(
      "INSERT INTO aggregates (uuid, name, availability_zone, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING *",
    );
    this.touchRow = db.prepare("UPDATE aggregates SET updated_at = ? WHERE id = ?");
  }

  /** Forgets every cached aggregate and page, and what the open transaction wrote (after a rollback). */
  invalidate(): void {
    this.cache.clear();
    this.written.clear();
    this.pages.clear();
  }

  /** Forgets one aggregate (written now: its row, metadata or members) and every page. */
  changed(id: number): void {
    this.cache.delete(id);
    this.written.delete(id);
    this.pages.clear();
  }

  /** The open transaction committed: what it wrote is what the database holds now. */
  committed(): void {
    for (const [id, record] of this.written) this.remember(this.cache, id, record);
    this.written.clear();
  }

  private remember(into: Map<number, AggregateRecord>, id: number, record: AggregateRecord): void {
    if (into.size >= 10_000) into.clear();
    into.set(id, record);
  }

  /** One aggregate, or undefined. Treat the record as read-only: it may be shared. */
  get(id: number): AggregateRecord | undefined {
    const inTransaction = this.db.inTransaction;
    const hit = (inTransaction ? this.written.get(id) : undefined) ?? this.cache.get(id);
    if (hit) return hit;
    const row = this.byId.get(id);
    if (!row) return undefined;
    const members = this.membersOf.all(id).map((m) => ({ host: m.name, state: m.membership }));
    const record = hydrateAggregate(row, this.metadataOf.all(id), members);
    this.remember(inTransaction ? this.written : this.cache, id, record);
    return record;
  }

  /** The id of the aggregate with this name, or undefined. */
  idByName(name: string): number | undefined {
    return this.byName.get(name)?.id;
  }

  /** A page of aggregates with id > afterId, optionally in one zone, ordered by id. Treat the records as read-only: they may be shared. */
  list(options: { availabilityZone?: string; afterId: number; limit: number }): AggregateRecord[] {
    if (this.db.inTransaction) return this.readPage(options);
    const key = `${options.availabilityZone ?? "\u0000"}\u0000${options.afterId}\u0000${options.limit}`;
    const hit = this.pages.get(key);
    if (hit) return hit;
    const page = this.readPage(options);
    if (this.pages.size >= 1000) this.pages.clear();
    this.pages.set(key, page);
    return page;
  }

  private readPage(options: { availabilityZone?: string; afterId: number; limit: number }): AggregateRecord[] {
    const rows =
      options.availabilityZone !== undefined
        ? this.listZone.all(options.availabilityZone, options.afterId, options.limit)
        : this.listAll.all(options.afterId, options.limit);
    if (rows.length === 0) return [];
    const first = rows[0]!.id;
    const last = rows.at(-1)!.id;
    return this.assemble(rows, this.metadataRange.all(first, last), this.membersRange.all(first, last));
  }

  /** A page of the aggregates that have at least one host, with id > afterId, ordered by id (empty aggregates are never read). */
  withHosts(options: { afterId: number; limit: number }): AggregateRecord[] {
    const rows = this.withHostsRows.all(options.afterId, options.limit);
    if (rows.length === 0) return [];
    return this.assemble(rows, this.withHostsMetadata.all(options.afterId, options.limit), this.withHostsMembers.all(options.afterId, options.limit));
  }

  /** A page of every aggregate's id, name and pool state, with id > afterId, ordered by id (read from the table alone, never cached). */
  poolStates(options: { afterId: number; limit: number }): AggregatePoolState[] {
    return this.poolStateRows.all(options.afterId, options.limit).map((r) => ({ id: r.id, name: r.name, poolState: r.pool_state }));
  }

  /** Records from aggregate rows and the metadata and member rows read for them. */
  private assemble(
    rows: AggregateRow[],
    metadataRows: { aggregate_id: number; key: string; value: string }[],
    memberRows: { aggregate_id: number; name: string; membership: MembershipName }[],
  ): AggregateRecord[] {
    const metadata = new Map<number, { key: string; value: string }[]>();
    for (const m of metadataRows) {
      (metadata.get(m.aggregate_id) ?? metadata.set(m.aggregate_id, []).get(m.aggregate_id)!).push(m);
    }
    const members = new Map<number, MemberRecord[]>();
    for (const h of memberRows) {
      (members.get(h.aggregate_id) ?? members.set(h.aggregate_id, []).get(h.aggregate_id)!).push({ host: h.name, state: h.membership });
    }
    return rows.map((r) => hydrateAggregate(r, metadata.get(r.id) ?? [], members.get(r.id) ?? []));
  }

  /** Inserts an aggregate and returns its id; undefined when the name is taken. */
  insert(name: string, availabilityZone: string | null, now: string): number | undefined {
    this.hooks.requireTransaction();
    this.pages.clear();
    let row: AggregateRow;
    try {
      row = this.insertRow.get(randomUUID(), name, availabilityZone, now, now)!;
    } catch (err) {
      if (err instanceof SqliteError && err.code.startsWith("SQLITE_CONSTRAINT")) return undefined;
      throw err;
    }
    // A new aggregate has no metadata and no members: the inserted row is all of it.
    this.remember(this.written, row.id, hydrateAggregate(row, [], []));
    return row.id;
  }

  /** Sets name and/or zone and bumps updated_at. */
  update(id: number, changes: { name?: string; availabilityZone?: string }, now: string): void {
    this.hooks.requireTransaction();
    this.changed(id);
    const sets: string[] = ["updated_at = @now"];
    if (changes.name !== undefined) sets.push("name = @name");
    if (changes.availabilityZone !== undefined) sets.push("availability_zone = @az, az_from_host = 0");
    statement(this.db, `UPDATE aggregates SET ${sets.join(", ")} WHERE id = @id`).run({
      id,
      now,
      name: changes.name,
      az: changes.availabilityZone,
    });
  }

  /** Upserts and removes metadata keys and bumps updated_at. */
  setMetadata(id: number, set: Record<string, string>, remove: string[], now: string): void {
    this.hooks.requireTransaction();
    this.changed(id);
    for (const key of remove) this.deleteKey.run(id, key);
    for (const [key, value] of Object.entries(set)) this.putKey.run(id, key, value);
    this.touchRow.run(now, id);
  }

  /** Updates pool bookkeeping fields (and updated_at). */
  updatePool(id: number, update: PoolUpdate, now: string): void {
    this.hooks.requireTransaction();
    this.changed(id);
    const sets: string[] = ["updated_at = @now"];
    const params: Record<string, unknown> = { id, now };
    for (const [name, value] of poolUpdateColumns(update)) {
      sets.push(`${name} = @${name}`);
      params[name] = value;
    }
    statement(this.db, `UPDATE aggregates SET ${sets.join(", ")} WHERE id = @id`).run(params);
  }

  /** Records a life-cycle change of the aggregate's error (model/lifecycle is the only maker of one). */
  setError(id: number, change: PoolErrorChange, now: string): void {
    this.hooks.requireTransaction();
    this.changed(id);
    statement(this.db, "UPDATE aggregates SET last_error = ?, updated_at = ? WHERE id = ?").run(toJson(change.lastError), now, id);
    this.hooks.aggregateTouched(id);
  }

  /** Writes the pool state the life cycle derived (the store calls it for every aggregate a transaction touched). */
  settle(id: number, derive: (facts: { hosts: number; lastError: PoolErrorRecord | null }) => PoolStateName, now: string): void {
    const row = this.byId.get(id);
    if (!row) return;
    const state = derive(poolFactsOf(this.membersOf.all(id), row.last_error));
    if (state === row.pool_state) return;
    this.changed(id);
    statement(this.db, "UPDATE aggregates SET pool_state = ?, updated_at = ? WHERE id = ?").run(state, now, id);
  }

  /** Bumps updated_at (membership changes). */
  touch(id: number, now: string): void {
    this.hooks.requireTransaction();
    this.changed(id);
    this.touchRow.run(now, id);
  }

  /** Deletes an aggregate, its metadata and its lease. */
  delete(id: number): void {
    this.hooks.requireTransaction();
    this.changed(id);
    statement(this.db, "DELETE FROM aggregates WHERE id = ?").run(id);
    statement(this.db, "DELETE FROM aggregate_leases WHERE aggregate_id = ?").run(id);
  }
}
