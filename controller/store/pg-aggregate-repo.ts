/**
 * Aggregates and their metadata in PostgreSQL. Callers wrap writes in a transaction. No cache:
 * other replicas write the same rows, so every read goes to the database; a record is read in
 * one statement (its metadata and members as JSON), so a read outside a transaction is never torn.
 */
import { randomUUID } from "node:crypto";
import type { PoolErrorChange } from "../model/lifecycle.js";
import type { AggregateRecord, MemberRecord, MembershipName, PoolErrorRecord, PoolStateName } from "../model/records.js";
import { toJson } from "./json-column.js";
import { setList, type PgSession } from "./pg-session.js";
import { hydrateAggregate, poolFactsOf, poolUpdateColumns, type AggregateRow } from "./rows.js";
import { postgresDialect } from "./sql-dialect.js";
import type { AggregatePoolState, PoolUpdate } from "./store.js";

type HydratableRow = AggregateRow & { metadata: { key: string; value: string }[]; members: MemberRecord[] };

/** The aggregate rows with their metadata and members (ordered as SQLite orders them). */
const selectRecord = `SELECT a.*,
    COALESCE((SELECT json_agg(json_build_object('key', m.key, 'value', m.value) ORDER BY m.key)
      FROM aggregate_metadata m WHERE m.aggregate_id = a.id), '[]') AS metadata,
    COALESCE((SELECT json_agg(json_build_object('host', h.name, 'state', h.membership) ORDER BY h.member_seq, h.name)
      FROM hosts h WHERE h.aggregate_id = a.id), '[]') AS members
  FROM aggregates a`;

// A key differing only in case sets the existing key's value (as SQLite's upsert does through its NOCASE index).
const caselessKey = postgresDialect.caseless("key");

const hydrate = (r: HydratableRow): AggregateRecord => hydrateAggregate(r, r.metadata, r.members);

/** Data access for aggregates. */
export class PgAggregateRepo {
  constructor(
    private readonly db: PgSession,
    private readonly hooks: { aggregateTouched(id: number): Promise<void> },
  ) {}

  /** One aggregate, or undefined. */
  async get(id: number): Promise<AggregateRecord | undefined> {
    const [row] = await this.db.rows<HydratableRow>(`${selectRecord} WHERE a.id = $1`, [id]);
    return row ? hydrate(row) : undefined;
  }

  /** The id of the aggregate with this name, or undefined. */
  async idByName(name: string): Promise<number | undefined> {
    const [row] = await this.db.rows<{ id: number }>("SELECT id FROM aggregates WHERE name = $1", [name]);
    return row?.id;
  }

  /** A page of aggregates with id > afterId, optionally in one zone, ordered by id. */
  async list(options: { availabilityZone?: string; afterId: number; limit: number }): Promise<AggregateRecord[]> {
    const rows =
      options.availabilityZone !== undefined
        ? await this.db.rows<HydratableRow>(`${selectRecord} WHERE a.availability_zone = $1 AND a.id > $2 ORDER BY a.id LIMIT $3`, [
            options.availabilityZone,
            options.afterId,
            options.limit,
          ])
        : await this.db.rows<HydratableRow>(`${selectRecord} WHERE a.id > $1 ORDER BY a.id LIMIT $2`, [options.afterId, options.limit]);
    return rows.map(hydrate);
  }

  /** A page of the aggregates that have hosts, with id > afterId, ordered by id (the query walks the hosts index: empty aggregates are never read). */
  async withHosts(options: { afterId: number; limit: number }): Promise<AggregateRecord[]> {
    const rows = await this.db.rows<HydratableRow>(
      `${selectRecord} WHERE a.id IN (SELECT DISTINCT aggregate_id FROM hosts WHERE aggregate_id > $1 ORDER BY aggregate_id LIMIT $2) ORDER BY a.id`,
      [options.afterId, options.limit],
    );
    return rows.map(hydrate);
  }

  /** A page of every aggregate's id, name and pool state, with id > afterId, ordered by id (the aggregates table alone). */
  async poolStates(options: { afterId: number; limit: number }): Promise<AggregatePoolState[]> {
    const rows = await this.db.rows<{ id: number; name: string; pool_state: PoolStateName }>(
      "SELECT id, name, pool_state FROM aggregates WHERE id > $1 ORDER BY id LIMIT $2",
      [options.afterId, options.limit],
    );
    return rows.map((r) => ({ id: r.id, name: r.name, poolState: r.pool_state }));
  }

  /** Inserts an aggregate and returns its id; undefined when the name is taken (no error: it would abort the transaction). */
  async insert(name: string, availabilityZone: string | null, now: string): Promise<number | undefined> {
    this.db.requireTransaction();
    const [row] = await this.db.rows<{ id: number }>(
      "INSERT INTO aggregates (uuid, name, availability_zone, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) ON CONFLICT DO NOTHING RETURNING id",
      [randomUUID(), name, availabilityZone, now],
    );
    return row?.id;
  }

  /** Sets name and/or zone and bumps updated_at. */
  async update(id: number, changes: { name?: string; availabilityZone?: string }, now: string): Promise<void> {
    this.db.requireTransaction();
    const columns: [string, unknown][] = [["updated_at", now]];
    if (changes.name !== undefined) columns.push(["name", changes.name]);
    if (changes.availabilityZone !== undefined) columns.push(["availability_zone", changes.availabilityZone], ["az_from_host", 0]);
    const set = setList(columns, 2);
    await this.db.run(`UPDATE aggregates SET ${set.sql} WHERE id = $1`, [id, ...set.values]);
  }

  /** Upserts and removes metadata keys and bumps updated_at. */
  async setMetadata(id: number, set: Record<string, string>, remove: string[], now: string): Promise<void> {
    this.db.requireTransaction();
    for (const key of remove) await this.db.run("DELETE FROM aggregate_metadata WHERE aggregate_id = $1 AND key = $2", [id, key]);
    for (const [key, value] of Object.entries(set)) {
      await this.db.run(
        `INSERT INTO aggregate_metadata (aggregate_id, key, value) VALUES ($1, $2, $3) ON CONFLICT (aggregate_id, ${caselessKey}) DO UPDATE SET value = excluded.value`,
        [id, key, value],
      );
    }
    await this.touch(id, now);
  }

  /** Updates pool bookkeeping fields (and updated_at). */
  async updatePool(id: number, update: PoolUpdate, now: string): Promise<void> {
    this.db.requireTransaction();
    const set = setList([["updated_at", now], ...poolUpdateColumns(update)], 2);
    await this.db.run(`UPDATE aggregates SET ${set.sql} WHERE id = $1`, [id, ...set.values]);
  }

  /** Records a life-cycle change of the aggregate's error (model/lifecycle is the only maker of one). */
  async setError(id: number, change: PoolErrorChange, now: string): Promise<void> {
    this.db.requireTransaction();
    await this.db.run("UPDATE aggregates SET last_error = $1, updated_at = $2 WHERE id = $3", [toJson(change.lastError), now, id]);
    await this.hooks.aggregateTouched(id);
  }

  /** Writes the pool state the life cycle derived (the store calls it for every aggregate a transaction touched). */
  async settle(id: number, derive: (facts: { hosts: number; lastError: PoolErrorRecord | null }) => PoolStateName, now: string): Promise<void> {
    const [row] = await this.db.rows<Pick<AggregateRow, "pool_state" | "last_error">>("SELECT pool_state, last_error FROM aggregates WHERE id = $1", [id]);
    if (!row) return;
    const members = await this.db.rows<{ membership: MembershipName | null }>("SELECT membership FROM hosts WHERE aggregate_id = $1", [id]);
    const state = derive(poolFactsOf(members, row.last_error));
    if (state === row.pool_state) return;
    await this.db.run("UPDATE aggregates SET pool_state = $1, updated_at = $2 WHERE id = $3", [state, now, id]);
  }

  /** Bumps updated_at (membership changes). */
  async touch(id: number, now: string): Promise<void> {
    this.db.requireTransaction();
    await this.db.run("UPDATE aggregates SET updated_at = $1 WHERE id = $2", [now, id]);
  }

  /** Deletes an aggregate, its metadata and its lease. */
  async delete(id: number): Promise<void> {
    this.db.requireTransaction();
    await this.db.run("DELETE FROM aggregates WHERE id = $1", [id]);
    await this.db.run("DELETE FROM aggregate_leases WHERE aggregate_id = $1", [id]);
  }
}
