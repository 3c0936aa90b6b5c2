/** Registered hosts in SQLite. Callers wrap writes in a transaction. */
import type { Statement } from "better-sqlite3";
import type { CapacityRecord, HostRecord, LivenessName, MaintenanceName, MembershipName, PoolFactsRecord } from "../model/records.js";
import type { Db } from "./database.js";
import { parseJson, toJson } from "./json-column.js";

interface HostRow {
  name: string;
  uuid: string | null;
  xapi_address: string;
  agent_endpoint: string;
  az_hint: string | null;
  enabled: number;
  aggregate_id: number | null;
  membership: MembershipName | null;
  capacity: string | null;
  pool_facts: string | null;
  liveness: LivenessName;
  last_heartbeat_at: string | null;
  registered_at: string;
  maintenance: MaintenanceName;
  status_reason: string | null;
}

const hydrate = (r: HostRow): HostRecord => ({
  name: r.name,
  uuid: r.uuid,
  xapiAddress: r.xapi_address,
  agentEndpoint: r.agent_endpoint,
  azHint: r.az_hint,
  enabled: r.enabled === 1,
  aggregateId: r.aggregate_id,
  membership: r.membership,
  capacity: parseJson<CapacityRecord | null>(r.capacity, null),
  poolFacts: parseJson<PoolFactsRecord | null>(r.pool_facts, null),
  liveness: r.liveness,
  lastHeartbeatAt: r.last_heartbeat_at,
  registeredAt: r.registered_at,
  maintenance: r.maintenance,
  statusReason: r.status_reason,
});

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

/** Data access for hosts. */
export class HostRepo {
  private readonly byName: Statement<[string], HostRow>;
  private readonly heartbeatRow: Statement<{ name: string; capacity: string | null; facts: string | null; uuid: string | null; liveness: LivenessName; now: string }>;

  private readonly membersOf: Statement<[number], HostRow>;

  /** onMembershipChange is told whenever hosts enter or leave aggregates (the aggregate cache listens). */
  constructor(
    private readonly db: Db,
    private readonly onMembershipChange: () => void = () => {},
  ) {
    this.membersOf = db.prepare("SELECT * FROM hosts WHERE aggregate_id = ? ORDER BY member_seq, name");
    this.byName = db.prepare("SELECT * FROM hosts WHERE name = ?");
    this.heartbeatRow = db.prepare(
      `UPDATE hosts SET capacity = COALESCE(@capacity, capacity), pool_facts = COALESCE(@facts, pool_facts),
         uuid = COALESCE(@uuid, uuid), last_heartbeat_at = @now,
         liveness = CASE WHEN liveness = 'FAILED' THEN liveness ELSE @liveness END
       WHERE name = @name`,
    );
  }

  /** One host, or undefined. */
  get(name: string): HostRecord | undefined {
    const row = this.byName.get(name);
    return row ? hydrate(row) : undefined;
  }

  /** A page of hosts with name > afterName, optionally of one aggregate, ordered by name. */
  list(options: { aggregateId?: number; afterName: string; limit: number }): HostRecord[] {
    const rows =
      options.aggregateId !== undefined
        ? this.db.prepare("SELECT * FROM hosts WHERE aggregate_id = ? AND name > ? ORDER BY name LIMIT ?").all(options.aggregateId, options.afterName, options.limit)
        : this.db.prepare("SELECT * FROM hosts WHERE name > ? ORDER BY name LIMIT ?").all(options.afterName, options.limit);
    return (rows as HostRow[]).map(hydrate);
  }

  /** Hosts of one aggregate in membership order. */
  members(aggregateId: number): HostRecord[] {
    return this.membersOf.all(aggregateId).map(hydrate);
  }

  /** Inserts a new host (disabled) or refreshes a known one's addresses and facts; returns true when new. */
  register(r: Registration, now: string): boolean {
    const existing = this.byName.get(r.name);
    if (!existing) {
      this.db
        .prepare(
          `INSERT INTO hosts (name, uuid, xapi_address, agent_endpoint, az_hint, enabled, capacity, pool_facts, liveness, last_heartbeat_at, registered_at)
           VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)`,
        )
        .run(r.name, r.uuid, r.xapiAddress, r.agentEndpoint, r.azHint, toJson(r.capacity), toJson(r.poolFacts), livenessOf(r.poolFacts), now, now);
      return true;
    }
    this.db
      .prepare(
        `UPDATE hosts SET uuid = COALESCE(?, uuid), xapi_address = ?, agent_endpoint = ?, az_hint = ?,
           capacity = COALESCE(?, capacity), pool_facts = COALESCE(?, pool_facts),
           liveness = CASE WHEN liveness = 'FAILED' THEN liveness ELSE ? END, last_heartbeat_at = ?
         WHERE name = ?`,
      )
      .run(r.uuid, r.xapiAddress, r.agentEndpoint, r.azHint, toJson(r.capacity), toJson(r.poolFacts), livenessOf(r.poolFacts), now, r.name);
    return false;
  }

  /** Records a heartbeat; returns false when the host is unknown. */
  heartbeat(name: string, capacity: CapacityRecord | null, facts: PoolFactsRecord | null, now: string): boolean {
    const result = this.heartbeatRow.run({
      name,
      capacity: toJson(capacity),
      facts: toJson(facts),
      uuid: facts?.hostUuid || null,
      liveness: livenessOf(facts),
      now,
    });
    return result.changes > 0;
  }

  /** Sets the enabled flag (and an optional reason). */
  setEnabled(name: string, enabled: boolean, reason: string | null = null): void {
    this.db.prepare("UPDATE hosts SET enabled = ?, status_reason = ? WHERE name = ?").run(enabled ? 1 : 0, reason, name);
  }

  /** Puts a host into an aggregate with a membership state (null aggregate removes it). */
  setMembership(name: string, aggregateId: number | null, membership: MembershipName | null): void {
    this.onMembershipChange();
    if (aggregateId === null) {
      this.db.prepare("UPDATE hosts SET aggregate_id = NULL, membership = NULL, member_seq = NULL WHERE name = ?").run(name);
      return;
    }
    this.db
      .prepare(
        `UPDATE hosts SET aggregate_id = @aggregateId, membership = @membership,
           member_seq = CASE WHEN aggregate_id IS @aggregateId AND member_seq IS NOT NULL THEN member_seq
             ELSE (SELECT COALESCE(MAX(member_seq), 0) + 1 FROM hosts WHERE aggregate_id = @aggregateId) END
         WHERE name = @name`,
      )
      .run({ name, aggregateId, membership });
  }

  /** Sets liveness (and an optional reason). */
  setLiveness(name: string, liveness: LivenessName, reason: string | null = null): void {
    this.db.prepare("UPDATE hosts SET liveness = ?, status_reason = COALESCE(?, status_reason) WHERE name = ?").run(liveness, reason, name);
  }

  /** Sets the maintenance state. */
  setMaintenance(name: string, maintenance: MaintenanceName): void {
    this.db.prepare("UPDATE hosts SET maintenance = ? WHERE name = ?").run(maintenance, name);
  }

  /** Deletes a host record. */
  delete(name: string): void {
    this.onMembershipChange();
    this.db.prepare("DELETE FROM hosts WHERE name = ?").run(name);
  }
}

function livenessOf(facts: PoolFactsRecord | null): LivenessName {
  return facts && !facts.xapiReachable ? "XAPI_UNREACHABLE" : "ALIVE";
}
