/**
 * The durable write of the benchmark's floor servers: one row committed in its own transaction (BEGIN
 * IMMEDIATE, INSERT, COMMIT) on a SQLite file opened as the controller opens its own (WAL,
 * synchronous=FULL), so each call pays one fsync, like a controller write that shares its commit
 * with no other.
 */
import Database from "better-sqlite3";

/** Opens (creating) the file; returns the function that commits one row naming the call. */
export function openFloorCommit(path: string): (call: string) => void {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec("CREATE TABLE IF NOT EXISTS writes (id INTEGER PRIMARY KEY, call TEXT NOT NULL, at INTEGER NOT NULL)");
  const insert = db.prepare("INSERT INTO writes (call, at) VALUES (?, ?)");
  return db.transaction((call: string) => {
    insert.run(call, Date.now());
  }).immediate;
}
