/** Registered hosts in SQLite. Callers wrap writes in a transaction. */
import type { Statement } from "better-sqlite3";
import { reportedLiveness, type HostChange } from "../model/lifecycle.js";
import type { CapacityRecord, HostRecord, LivenessName, PoolFactsRecord } from "../model/records.js";
import { statement, type Db } from "./database.js";
import { withBeat, type BeatFields, type PendingBeat } from "./heartbeat-batcher.js";
import { parseJson, toJson } from "./json-column.js";
import { hostChangeColumns, hydrateHost, type HostRow } from "./rows.js";
import type { Registration } from "./store.js";

/** What the repo tells the store about its writes, and asks it about batched heartbeats. */
export interface HostRepoHooks {
  /** The record with the host's pending (batched, not yet written) heartbeat merged in. */
  withPending(host: HostRecord): HostRecord;
  /** When the host's pending heartbeat was sent, if one is pending. */
  pendingAt(name: string): string | undefined;
  /** Called with the aggregate whose hosts changed (membership or delete), before and after. */
  aggregateTouched(id: number | null): void;
  /** Throws unless a transaction is open. */
  requireTransaction(): void;
  /** The host is being deleted: a heartbeat of it still pending must not be accepted as if it were registered. */
  deleted(name: string): void;
  /** A life-cycle change writes the host's liveness: a heartbeat of it still pending, older, no longer decides it. */
  livenessDecided(name: string): void;
}

/** Data access for hosts. */
export class HostRepo {
  private readonly byName: Statement<[string], HostRow>;
  private readonly existsRow: Statement<[string], number>;
  private readonly beatFieldsRow: Statement<[string], Pick<HostRow, "capacity" | "pool_facts" | "uuid" | "last_heartbeat_at" | "liveness">>;
  private readonly heartbeatRow: Statement<{ name: string; capacity: string | null; facts: string | null; uuid: string | null; liveness: LivenessName; now: string }>;
  private readonly listAll: Statement<[string, number], HostRow>;
  private readonly listOf: Statement<[number, string, number], HostRow>;
  private readonly membersOf: Statement<[number], HostRow>;
  private readonly membersOfMany: Statement<[string], HostRow>;
  private readonly silentRows: Statement<[string], string>;
  /** Names found registered by a read outside any transaction, forgotten when deleted: every heartbeat asks exists(), so a known host skips the query. */
  private readonly known = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly hooks: HostRepoHooks,
  ) {
    this.membersOf = db.prepare("SELECT * FROM hosts WHERE aggregate_id = ? ORDER BY member_seq, name");
    this.membersOfMany = db.prepare("SELECT * FROM hosts WHERE aggregate_id IN (SELECT value FROM json_each(?)) ORDER BY aggregate_id, member_seq, name");
    this.byName = db.prepare("SELECT * FROM hosts WHERE name = ?");
    this.existsRow = db.prepare("SELECT 1 FROM hosts WHERE name = ?").pluck() as Statement<[string], number>;
    this.beatFieldsRow = db.prepare("SELECT capacity, pool_facts, uuid, last_heartbeat_at, liveness FROM hosts WHERE name = ?");
    this.silentRows = db.prepare("SELECT name FROM hosts WHERE liveness IN ('ALIVE', 'XAPI_UNREACHABLE') AND last_heartbeat_at < ?").pluck() as Statement<[string], string>;
    // The values come from withBeat (heartbeat-batcher.ts), the one rule of what a heartbeat changes.
    this.heartbeatRow = db.prepare(
      "UPDATE hosts SET capacity = @capacity, pool_facts = @facts, uuid = @uuid, last_heartbeat_at = @now, liveness = @liveness WHERE name = @name",
    );
    this.listAll = db.prepare("SELECT * FROM hosts WHERE name > ? ORDER BY name LIMIT ?");
    this.listOf = db.prepare("SELECT * FROM hosts WHERE aggregate_id = ? AND name > ? ORDER BY name LIMIT ?");
  }

  /** One host, or undefined. */
  get(name: string): HostRecord | undefined {
    const row = this.byName.get(name);
    return row ? this.hooks.withPending(hydrateHost(row)) : undefined;
  }

  /** True when a host of this name is registered (no heartbeat flush: the batcher asks). */
  exists(name: string): boolean {
    if (this.known.has(name)) return true;
    const found = this.existsRow.get(name) !== undefined;
    // Only a committed row is remembered: one seen inside a transaction could still be rolled back.
    if (found && !this.db.inTransaction) this.known.add(name);
    return found;
  }

  /** A page of hosts with name > afterName, optionally of one aggregate, ordered by name. */
  list(options: { aggregateId?: number; afterName: string; limit: number }): HostRecord[] {
    const rows =
      options.aggregateId !== undefined
        ? this.listOf.all(options.aggregateId, options.afterName, options.limit)
        : this.listAll.all(options.afterName, options.limit);
    return rows.map((r) => this.hooks.withPending(hydrateHost(r)));
  }

  /** The hosts of an aggregate, in the order they were added. */
  members(aggregateId: number): HostRecord[] {
    return this.membersOf.all(aggregateId).map((r) => this.hooks.withPending(hydrateHost(r)));
  }

  /** The members of each of these aggregates, in one statement (members' order within each). */
  membersOfAggregates(aggregateIds: readonly number[]): Map<number, HostRecord[]> {
    const byAggregate = new Map<number, HostRecord[]>(aggregateIds.map((id) => [id, []]));
    if (aggregateIds.length === 0) return byAggregate;
    for (const row of this.membersOfMany.all(JSON.stringify(aggregateIds))) byAggregate.get(row.aggregate_id!)?.push(this.hooks.withPending(hydrateHost(row)));
    return byAggregate;
  }

  /** Names of live hosts whose last heartbeat is older than the cutoff. */
  silentSince(cutoffIso: string): string[] {
    // A pending heartbeat only makes a host's last heartbeat newer (and never changes a FAILED host).
    return this.silentRows.all(cutoffIso).filter((name) => (this.hooks.pendingAt(name) ?? "") < cutoffIso);
  }

  /** Inserts a new host (disabled) or refreshes a known one's addresses and facts; returns true when new. */
  register(r: Registration, now: string): boolean {
    this.hooks.requireTransaction();
    const liveness = reportedLiveness(r.poolFacts);
    const existing = this.byName.get(r.name);
    if (!existing) {
      statement(
        this.db,
        `INSERT INTO hosts (name, uuid, xapi_address, agent_endpoint, az_hint, enabled, capacity, pool_facts, liveness, last_heartbeat_at, registered_at)
         VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)`,
      ).run(r.name, r.uuid, r.xapiAddress, r.agentEndpoint, r.azHint, toJson(r.capacity), toJson(r.poolFacts), liveness, now, now);
      return true;
    }
    statement(
      this.db,
      `UPDATE hosts SET uuid = COALESCE(?, uuid), xapi_address = ?, agent_endpoint = ?, az_hint = ?,
         capacity = COALESCE(?, capacity), pool_facts = COALESCE(?, pool_facts),
         liveness = CASE WHEN liveness = 'FAILED' THEN liveness ELSE ? END, last_heartbeat_at = ?
       WHERE name = ?`,
    ).run(r.uuid, r.xapiAddress, r.agentEndpoint, r.azHint, toJson(r.capacity), toJson(r.poolFacts), liveness, now, r.name);
    return false;
  }

  /** Writes a heartbeat; returns false when the host is unknown. */
  heartbeat(name: string, beat: PendingBeat): boolean {
    this.hooks.requireTransaction();
    const { capacity, facts } = beat;
    const row = this.beatFieldsRow.get(name);
    if (!row) return false;
    // Only the fields a beat touches are read, and the stored JSON only where the beat leaves it as it is
    // (what the beat carries replaces it: a fleet's batches write ~100 beats a second).
    const before: BeatFields = {
      capacity: capacity ? null : parseJson<CapacityRecord | null>(row.capacity, null),
      poolFacts: facts ? null : parseJson<PoolFactsRecord | null>(row.pool_facts, null),
      uuid: row.uuid,
      lastHeartbeatAt: row.last_heartbeat_at,
      liveness: row.liveness,
    };
    const after = withBeat(before, beat);
    if (after === before) return true; // older than the record's last report: nothing to write
    this.heartbeatRow.run({ name, capacity: toJson(after.capacity), facts: toJson(after.poolFacts), uuid: after.uuid, liveness: after.liveness, now: after.lastHeartbeatAt ?? beat.at });
    return true;
  }

  /** Applies a life-cycle change (model/lifecycle is the only maker of one). */
  apply(name: string, change: HostChange): void {
    this.hooks.requireTransaction();
    const before = this.byName.get(name);
    if (!before) return;
    const sets: string[] = [];
    const params: Record<string, unknown> = { name };
    for (const [col, value] of hostChangeColumns(change)) {
      sets.push(`${col} = @${col}`);
      params[col] = value;
    }
    if (change.aggregateId !== undefined) {
      // A host keeps its place in the member order while it stays in the same aggregate.
      sets.push(
        change.aggregateId === null
          ? "member_seq = NULL"
          : "member_seq = CASE WHEN aggregate_id IS @aggregate_id AND member_seq IS NOT NULL THEN member_seq ELSE (SELECT COALESCE(MAX(member_seq), 0) + 1 FROM hosts WHERE aggregate_id = @aggregate_id) END",
      );
    }
    if (sets.length === 0) return;
    if (change.liveness !== undefined) this.hooks.livenessDecided(name);
    statement(this.db, `UPDATE hosts SET ${sets.join(", ")} WHERE name = @name`).run(params);
    if (change.aggregateId !== undefined || change.membership !== undefined) {
      this.hooks.aggregateTouched(before.aggregate_id);
      if (change.aggregateId !== undefined) this.hooks.aggregateTouched(change.aggregateId);
    }
  }

  /** Deletes a host record. */
  delete(name: string): void {
    this.hooks.requireTransaction();
    const before = this.byName.get(name);
    this.known.delete(name);
    this.hooks.deleted(name);
    statement(this.db, "DELETE FROM hosts WHERE name = ?").run(name);
    if (before) this.hooks.aggregateTouched(before.aggregate_id);
  }
}
