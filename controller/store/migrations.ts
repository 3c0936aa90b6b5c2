/**
 * Numbered schema migrations, applied in order at start-up, the same list for every database
 * (SQLite: PRAGMA user_version holds the last one; PostgreSQL: the schema_version table). Where
 * the two differ in DDL, a migration is a function of the dialect (sql-dialect.ts).
 */
import type { SqlDialect } from "./sql-dialect.js";

/** One migration: its number and the SQL that brings the schema from number-1 to number. */
export interface Migration {
  version: number;
  description: string;
  /** Portable SQL, or SQL written for a dialect. */
  sql: string | ((d: SqlDialect) => string);
}

/** The SQL of a migration for one dialect. */
export function migrationSql(m: Migration, d: SqlDialect): string {
  return typeof m.sql === "string" ? m.sql : m.sql(d);
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    description: "aggregates, metadata, hosts, operations, events",
    sql: (d) => `
      CREATE TABLE aggregates (
        id ${d.autoId},
        uuid TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL UNIQUE,
        availability_zone TEXT,
        az_from_host ${d.integer} NOT NULL DEFAULT 0,
        pool_state TEXT NOT NULL DEFAULT 'EMPTY',
        master_host TEXT,
        pool_uuid TEXT,
        last_error TEXT,
        drift TEXT,
        lost_vms TEXT,
        checked_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX aggregates_az ON aggregates(availability_zone, id);

      CREATE TABLE aggregate_metadata (
        aggregate_id ${d.integer} NOT NULL REFERENCES aggregates(id) ON DELETE CASCADE,
        key ${d.orderedText} NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (aggregate_id, key)
      );
      -- Keys differing only in case are refused (Nova bug 1538011).
      CREATE UNIQUE INDEX aggregate_metadata_key_nocase ON aggregate_metadata(aggregate_id, ${d.caseless("key")});

      CREATE TABLE hosts (
        name ${d.orderedText} PRIMARY KEY,
        uuid TEXT,
        xapi_address TEXT NOT NULL,
        agent_endpoint TEXT NOT NULL,
        az_hint TEXT,
        enabled ${d.integer} NOT NULL DEFAULT 0,
        aggregate_id ${d.integer} REFERENCES aggregates(id),
        membership TEXT,
        member_seq ${d.integer},
        capacity TEXT,
        pool_facts TEXT,
        liveness TEXT NOT NULL DEFAULT 'ALIVE',
        last_heartbeat_at TEXT,
        registered_at TEXT NOT NULL,
        maintenance TEXT NOT NULL DEFAULT 'NONE',
        status_reason TEXT
      );
      CREATE INDEX hosts_aggregate ON hosts(aggregate_id, member_seq);

      CREATE TABLE operations (
        seq ${d.autoId},
        id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        aggregate_id ${d.integer},
        host TEXT,
        state TEXT NOT NULL,
        progress ${d.real} NOT NULL DEFAULT 0,
        steps TEXT NOT NULL,
        params TEXT NOT NULL DEFAULT '{}',
        error TEXT,
        evacuation TEXT,
        cancel_requested ${d.integer} NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        finished_at TEXT
      );
      CREATE INDEX operations_aggregate ON operations(aggregate_id, seq);
      CREATE INDEX operations_state ON operations(state, seq);

      CREATE TABLE events (
        id ${d.autoId},
        time TEXT NOT NULL,
        kind TEXT NOT NULL,
        aggregate_id ${d.integer},
        host TEXT,
        operation_id TEXT,
        message TEXT NOT NULL
      );
      CREATE INDEX events_aggregate ON events(aggregate_id, id);
    `,
  },
  {
    version: 2,
    description: "where VMs moved by maintenance came from",
    sql: (d) => `
      CREATE TABLE vm_origins (
        vm_uuid TEXT PRIMARY KEY,
        vm_name ${d.orderedText} NOT NULL,
        origin_host TEXT NOT NULL,
        moved_to TEXT NOT NULL,
        operation_id TEXT NOT NULL,
        moved_at TEXT NOT NULL
      );
      CREATE INDEX vm_origins_origin ON vm_origins(origin_host);
    `,
  },
  {
    version: 3,
    description: "per-aggregate leases: holder, epoch, expiry on the database's clock (lease-statements.ts)",
    sql: (d) => `
      CREATE TABLE aggregate_leases (
        aggregate_id ${d.integer} PRIMARY KEY REFERENCES aggregates(id) ON DELETE CASCADE,
        holder TEXT NOT NULL,
        epoch ${d.integer} NOT NULL,
        expires_at_ms ${d.integer} NOT NULL
      );
    `,
  },
  {
    version: 4,
    description: "leases without the aggregates foreign key: id 0 is the fleet lease (hosts in no aggregate); an aggregate's lease row goes with it (the repos delete it)",
    sql: (d) =>
      d.name === "postgres"
        ? "ALTER TABLE aggregate_leases DROP CONSTRAINT IF EXISTS aggregate_leases_aggregate_id_fkey;"
        : `
      CREATE TABLE aggregate_leases_v4 (
        aggregate_id ${d.integer} PRIMARY KEY,
        holder TEXT NOT NULL,
        epoch ${d.integer} NOT NULL,
        expires_at_ms ${d.integer} NOT NULL
      );
      INSERT INTO aggregate_leases_v4 (aggregate_id, holder, epoch, expires_at_ms) SELECT aggregate_id, holder, epoch, expires_at_ms FROM aggregate_leases;
      DROP TABLE aggregate_leases;
      ALTER TABLE aggregate_leases_v4 RENAME TO aggregate_leases;
    `,
  },
];
