/** Opens the store a database location names: a postgres:// URL selects PostgreSQL, anything else is a SQLite file. */
import { isPostgresUrl } from "./database-url.js";
import { openPostgresStore } from "./postgres-store.js";
import { openSqliteStore } from "./sqlite-store.js";
import type { Store } from "./store.js";

/**
 * Opens (creating and migrating) the controller's store at db: postgres://USER@HOST:PORT/DB, or a
 * SQLite path (":memory:" included). One controller per database: a second one is refused (SQLite:
 * the lock file; PostgreSQL: the controller's advisory lock).
 */
export async function openStore(db: string): Promise<Store> {
  return isPostgresUrl(db) ? openPostgresStore(db, { exclusive: true }) : openSqliteStore(db);
}
