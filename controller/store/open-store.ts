/** Opens the store a database location names: a postgres:// URL selects PostgreSQL, anything else is a SQLite file. */
import { isPostgresUrl } from "./database-url.js";
import { openPostgresStore } from "./postgres-store.js";
import { openSqliteStore } from "./sqlite-store.js";
import type { Store } from "./store.js";

/**
 * Opens (creating and migrating) the controller's store at db: postgres://USER@HOST:PORT/DB, or a
 * SQLite path (":memory:" included). SQLite admits one controller (its lock file refuses a second);
 * PostgreSQL admits any number of replicas, one process per replica id once it is claimed
 * (Store.claimReplica).
 */
export async function openStore(db: string): Promise<Store> {
  return isPostgresUrl(db) ? openPostgresStore(db) : openSqliteStore(db);
}
