/**
 * The sandbox's database: SQLite in the state directory for one controller; for replicas, the
 * PostgreSQL database given with --db, or a cluster of the sandbox's own kept in the state directory
 * (state-dir/postgres: created on first start, started with the sandbox and stopped with it).
 */
import { chmodSync } from "node:fs";
import { join } from "node:path";
import { isPostgresUrl } from "../controller/store/database-url.js";
import { findPostgresBinDir, postgresMissingReason, startPostgresCluster } from "./postgres-cluster.js";

/** Where the controllers keep their state, and how to let go of it. */
export interface SandboxDatabase {
  /** A SQLite path or a postgres:// URL (the controller's --db). */
  location: string;
  /** Stops the sandbox's own cluster, if it runs one. */
  close(): Promise<void>;
}

/**
 * Picks (and for replicas without --db, starts) the database of `replicas` controllers; throws when
 * replicas cannot have PostgreSQL (`findBinDir`: where initdb/pg_ctl are, undefined when not installed).
 */
export async function sandboxDatabase(stateDir: string, replicas: number, db: string | undefined, findBinDir: () => string | undefined = findPostgresBinDir): Promise<SandboxDatabase> {
  const none = async () => {};
  if (db !== undefined) {
    if (replicas > 1 && !isPostgresUrl(db)) throw new Error(`--replicas ${replicas} needs PostgreSQL: --db must be a postgres:// URL, got "${db}"`);
    return { location: db, close: none };
  }
  if (replicas === 1) return { location: join(stateDir, "controller.db"), close: none };
  if (!findBinDir()) throw new Error(`--replicas ${replicas} needs PostgreSQL: give --db postgres://USER@HOST:PORT/DB, or install it for a cluster in the state directory: ${postgresMissingReason}`);
  // As root the cluster belongs to the postgres user, who must be able to pass through the state directory.
  if (process.getuid?.() === 0) chmodSync(stateDir, 0o711);
  const cluster = await startPostgresCluster({ dir: join(stateDir, "postgres"), removeOnStop: false });
  try {
    return { location: await cluster.ensureDatabase("aggregates"), close: () => cluster.stop() };
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}
