/** Registered hosts in PostgreSQL. Callers wrap writes in a transaction. */
import type { HostChange } from "../model/lifecycle.js";
import type { HostRecord } from "../model/records.js";
import { withBeat, type PendingBeat } from "./heartbeat-batcher.js";
import { toJson } from "./json-column.js";
import { setList, type PgSession } from "./pg-session.js";
import { heartbeatValues, hostChangeColumns, hydrateHost, type HostRow } from "./rows.js";
import type { Registration } from "./store.js";

/** What the repo tells the store about its writes. */
export interface PgHostRepoHooks {
  /** Called before every read, so pending (batched) heartbeats are visible. */
  beforeRead(): Promise<void>;
  /** Called with the aggregate whose hosts changed (membership or delete), before and after. */
  aggregateTouched(id: number | null): Promise<void>;
}

/** Data access for hosts. */
export class PgHostRepo {
  constructor(
    private readonly db: PgSession,
    private readonly hooks: PgHostRepoHooks,
  ) {}

  private async row(name: string): Promise<HostRow | undefined> {
    return (await this.db.rows<HostRow>("SELECT * FROM hosts WHERE name = $1", [name]))[0];
  }

  /** One host, or undefined. */
  async get(name: string): Promise<HostRecord | undefined> {
    await this.hooks.beforeRead();
    const row = await this.row(name);
    return row ? hydrateHost(row) : undefined;
  }

  /** True when a host of this name is registered (no heartbeat flush: the batcher asks). */
  async exists(name: string): Promise<boolean> {
    return (await this.db.rows("SELECT 1 FROM hosts WHERE name = $1", [name])).length > 0;
  }

  /** A page of hosts with name > afterName, optionally of one aggregate, ordered by name. */
  async list(options: { aggregateId?: number; afterName: string; limit: number }): Promise<HostRecord[]> {
    await this.hooks.beforeRead();
    const rows =
      options.aggregateId !== undefined
        ? await this.db.rows<HostRow>("SELECT * FROM hosts WHERE aggregate_id = $1 AND name > $2 ORDER BY name LIMIT $3", [options.aggregateId, options.afterName, options.limit])
        : await this.db.rows<HostRow>("SELECT * FROM hosts WHERE name > $1 ORDER BY name LIMIT $2", [options.afterName, options.limit]);
    return rows.map(hydrateHost);
  }

  /** The hosts of an aggregate, in the order they were added. */
  async members(aggregateId: number): Promise<HostRecord[]> {
    await this.hooks.beforeRead();
    return (await this.db.rows<HostRow>("SELECT * FROM hosts WHERE aggregate_id = $1 ORDER BY member_seq, name", [aggregateId])).map(hydrateHost);
  }

  /** The members of each of these aggregates, in one statement (members' order within each). */
  async membersOfAggregates(aggregateIds: readonly number[]): Promise<Map<number, HostRecord[]>> {
    const byAggregate = new Map<number, HostRecord[]>(aggregateIds.map((id) => [id, []]));
    if (aggregateIds.length === 0) return byAggregate;
    await this.hooks.beforeRead();
    const rows = await this.db.rows<HostRow>("SELECT * FROM hosts WHERE aggregate_id = ANY($1::bigint[]) ORDER BY aggregate_id, member_seq, name", [aggregateIds]);
    for (const row of rows) byAggregate.get(Number(row.aggregate_id))?.push(hydrateHost(row));
    return byAggregate;
  }

  /** Names of live hosts whose last heartbeat is older than the cutoff. */
  async silentSince(cutoffIso: string): Promise<string[]> {
    await this.hooks.beforeRead();
    const rows = await this.db.rows<{ name: string }>("SELECT name FROM hosts WHERE liveness IN ('ALIVE', 'XAPI_UNREACHABLE') AND last_heartbeat_at < $1", [cutoffIso]);
    return rows.map((r) => r.name);
  }

  /** Inserts a new host (disabled) or refreshes a known one's addresses and facts; returns true when new. */
  async register(r: Registration, now: string): Promise<boolean> {
    this.db.requireTransaction();
    const beat = heartbeatValues(r.capacity, r.poolFacts);
    const inserted = await this.db.run(
      `INSERT INTO hosts (name, uuid, xapi_address, agent_endpoint, az_hint, enabled, capacity, pool_facts, liveness, last_heartbeat_at, registered_at)
       VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8, $9, $9) ON CONFLICT (name) DO NOTHING`,
      [r.name, r.uuid, r.xapiAddress, r.agentEndpoint, r.azHint, beat.capacity, beat.facts, beat.liveness, now],
    );
    if (inserted > 0) return true;
    await this.db.run(
      `UPDATE hosts SET uuid = COALESCE($1, uuid), xapi_address = $2, agent_endpoint = $3, az_hint = $4,
         capacity = COALESCE($5, capacity), pool_facts = COALESCE($6, pool_facts),
         liveness = CASE WHEN liveness = 'FAILED' THEN liveness ELSE $7 END, last_heartbeat_at = $8
       WHERE name = $9`,
      [r.uuid, r.xapiAddress, r.agentEndpoint, r.azHint, beat.capacity, beat.facts, beat.liveness, now, r.name],
    );
    return false;
  }

  /** Writes a batch of heartbeats in one statement, each as withBeat makes it (hosts deleted meanwhile are skipped). */
  async heartbeats(batch: ReadonlyMap<string, PendingBeat>): Promise<void> {
    this.db.requireTransaction();
    const names = [...batch.keys()].sort((a, b) => (a < b ? -1 : 1));
    const rows = await this.db.rows<HostRow>("SELECT * FROM hosts WHERE name = ANY($1::text[]) ORDER BY name FOR UPDATE", [names]);
    const columns: (string | null)[][] = [[], [], [], [], [], []];
    for (const row of rows) {
      const after = withBeat(hydrateHost(row), batch.get(row.name)!);
      [row.name, toJson(after.capacity), toJson(after.poolFacts), after.uuid, after.liveness, after.lastHeartbeatAt].forEach((value, i) => columns[i]!.push(value));
    }
    if (rows.length === 0) return;
    await this.db.run(
      `UPDATE hosts h SET capacity = b.capacity, pool_facts = b.facts, uuid = b.uuid, liveness = b.liveness, last_heartbeat_at = b.at
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS b(name, capacity, facts, uuid, liveness, at)
       WHERE h.name = b.name`,
      columns,
    );
  }

  /** Applies a life-cycle change (model/lifecycle is the only maker of one). */
  async apply(name: string, change: HostChange): Promise<void> {
    this.db.requireTransaction();
    const before = await this.row(name);
    if (!before) return;
    const columns = hostChangeColumns(change);
    if (columns.length === 0) return;
    const set = setList(columns, 2);
    let sql = set.sql;
    if (change.aggregateId !== undefined) {
      // A host keeps its place in the member order while it stays in the same aggregate.
      const to = 2 + columns.findIndex(([column]) => column === "aggregate_id");
      sql +=
        change.aggregateId === null
          ? ", member_seq = NULL"
          : `, member_seq = CASE WHEN aggregate_id IS NOT DISTINCT FROM $${to} AND member_seq IS NOT NULL THEN member_seq
               ELSE (SELECT COALESCE(MAX(member_seq), 0) + 1 FROM hosts WHERE aggregate_id = $${to}) END`;
    }
    await this.db.run(`UPDATE hosts SET ${sql} WHERE name = $1`, [name, ...set.values]);
    if (change.aggregateId !== undefined || change.membership !== undefined) {
      await this.hooks.aggregateTouched(before.aggregate_id);
      if (change.aggregateId !== undefined) await this.hooks.aggregateTouched(change.aggregateId);
    }
  }

  /** Deletes a host record. */
  async delete(name: string): Promise<void> {
    this.db.requireTransaction();
    const before = await this.row(name);
    await this.db.run("DELETE FROM hosts WHERE name = $1", [name]);
    if (before) await this.hooks.aggregateTouched(before.aggregate_id);
  }
}
