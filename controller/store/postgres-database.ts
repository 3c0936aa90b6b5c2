/** Connects to the controller's PostgreSQL database and applies the numbered migrations. */
import pg from "pg";
import { migrations, migrationSql } from "./migrations.js";
import { postgresDialect } from "./sql-dialect.js";

/** Advisory lock keys (pg_advisory_xact_lock) of the controller, one per purpose. */
export const advisoryLocks = {
  /** Held by every store transaction until it ends: one writer at a time, across every process. */
  writes: 0x61677231,
  /** Held while the schema is migrated, so that replicas starting together migrate once. */
  migrations: 0x61677232,
  /** With a hash of the replica id as second key (session-level): held by the one process of each replica id (controller-lock.ts). */
  controller: 0x61677233,
} as const;

/**
 * A statement parameter as PostgreSQL accepts it: an integer beyond JS's safe range (a cursor of
 * "no limit", an id from a client) becomes ±MAX_SAFE_INTEGER — it compares with every stored id
 * as it did, and cannot overflow BIGINT. Other values pass as they are.
 */
export function boundParam(value: unknown): unknown {
  if (typeof value === "number" && Number.isInteger(value) && !Number.isSafeInteger(value)) return Math.sign(value) * Number.MAX_SAFE_INTEGER;
  return value;
}

const int8 = 20;

/**
 * How this pool's connections read values: BIGINT (int8) as a JS number, as better-sqlite3 reads
 * SQLite's integers (the ids and counters the controller keeps stay far below 2^53).
 */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === int8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig["getTypeParser"],
};

/**
 * How long the server lets a session sit idle inside a transaction before it ends it. A controller
 * paused (SIGSTOP) or stalled in the middle of a store transaction would otherwise hold the write lock
 * and its lease row, and every replica's writes and lease takeovers would wait for it; ended, the
 * transaction is rolled back, and run again (fenced by its lease) if that controller runs again.
 * Store transactions only read and write the store between their statements, far below this.
 */
export const idleInTransactionMs = 5000;

/** A connection pool to the database at url; an idle connection's failure is left to the next query to report. */
export function openPostgresPool(url: string, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, application_name: "aggregates-controller", types, idle_in_transaction_session_timeout: idleInTransactionMs });
  // Without a listener, a server restart would crash the process through an idle client's error.
  pool.on("error", () => {});
  return pool;
}

/**
 * Applies every migration newer than the schema_version row, in one transaction (PostgreSQL's
 * DDL is transactional) under the migrations lock; returns the newest version.
 */
export async function migratePostgres(pool: pg.Pool): Promise<number> {
  const newest = migrations.at(-1)?.version ?? 0;
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock($1)", [advisoryLocks.migrations]);
    await client.query("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)");
    const rows = (await client.query<{ version: number }>("SELECT version FROM schema_version")).rows;
    if (rows.length === 0) await client.query("INSERT INTO schema_version (version) VALUES (0)");
    const current = rows[0]?.version ?? 0;
    if (current > newest) throw new Error(`database schema version ${current} is newer than this controller knows (${newest})`);
    for (const m of migrations) {
      if (m.version <= current) continue;
      await client.query(migrationSql(m, postgresDialect));
    }
    await client.query("UPDATE schema_version SET version = $1", [Math.max(current, newest)]);
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
  return newest;
}
