/** Opens the controller's SQLite database (WAL, synchronous=FULL) and applies migrations. */
import Database from "better-sqlite3";
import { migrations, migrationSql } from "./migrations.js";
import { sqliteDialect } from "./sql-dialect.js";

/** An open database handle. */
export type Db = Database.Database;

/** The statements prepared on each open database, by SQL text. */
const preparedStatements = new WeakMap<Db, Map<string, Database.Statement>>();

/**
 * The statement of this SQL text on db, prepared the first time it is asked for and reused after:
 * preparing parses and plans the SQL, which costs more than running most of the controller's statements.
 * For SQL built at run time, only from a bounded set of pieces (column lists, optional filters).
 */
export function statement(db: Db, sql: string): Database.Statement {
  let byText = preparedStatements.get(db);
  if (!byText) preparedStatements.set(db, (byText = new Map()));
  let prepared = byText.get(sql);
  if (!prepared) byText.set(sql, (prepared = db.prepare(sql)));
  return prepared;
}

/** Opens (creating if needed) the database at path (":memory:" for a throw-away one) and migrates it. */
export function openDatabase(path: string): Db {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  // Every acknowledged write survives a crash or power loss.
  db.pragma("synchronous = FULL");
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
  migrate(db);
  return db;
}

/**
 * Runs fn as one transaction committed without waiting for the disk (synchronous=NORMAL for this
 * commit only; FULL again afterwards, also when fn throws and the transaction is rolled back). In
 * WAL mode such a commit survives a crash of the process (the write reached the OS) and becomes
 * durable against power loss at the next synchronous commit or checkpoint. Only for writes that
 * may be lost to a power failure, such as telemetry the next report rewrites.
 */
export function commitWithoutSync(db: Db, fn: () => void): void {
  db.pragma("synchronous = NORMAL");
  try {
    db.transaction(fn).immediate();
  } finally {
    db.pragma("synchronous = FULL");
  }
}

/** Applies every migration newer than the database's user_version, each in its own transaction. */
export function migrate(db: Db): number {
  const current = db.pragma("user_version", { simple: true }) as number;
  const newest = migrations.at(-1)?.version ?? 0;
  if (current > newest) {
    throw new Error(`database schema version ${current} is newer than this controller knows (${newest})`);
  }
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(migrationSql(m, sqliteDialect));
      db.pragma(`user_version = ${m.version}`);
    })();
  }
  return newest;
}
