/**
 * A throwaway PostgreSQL cluster for tests: initdb in a temp directory, pg_ctl start on a free
 * loopback port (as the postgres user when the tests run as root: the server refuses root), stopped
 * and removed after. When initdb/pg_ctl are not installed (Debian's postgresql puts them under
 * /usr/lib/postgresql/N/bin), the suites that need them are skipped with the reason — and fail
 * under CI=true, where .ci/run installs the package.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "vitest";
import { findPostgresBinDir, postgresMissingReason, startPostgresCluster, type PostgresCluster as Cluster } from "../../sandbox/postgres-cluster.js";

/** Why the PostgreSQL suites cannot run here, or undefined when they can. */
export const postgresMissing = findPostgresBinDir() ? undefined : postgresMissingReason;

/** Declares a suite that needs PostgreSQL: it runs, or is skipped with the reason (fails under CI=true). */
export function describeOnPostgres(name: string, body: () => void): void {
  if (!postgresMissing) {
    describe(name, body);
  } else if (process.env["CI"] === "true") {
    describe(name, () => it("needs PostgreSQL", () => {
      throw new Error(`PostgreSQL is required under CI: ${postgresMissing}`);
    }));
  } else {
    describe.skip(`${name} (skipped: ${postgresMissing})`, body);
  }
}

/** A running throwaway cluster. */
export interface PostgresCluster extends Cluster {
  /** Creates an empty database and returns its URL. */
  createDatabase(): Promise<string>;
}

let databases = 0;

/** Starts a throwaway cluster in a temp directory (stop() stops it and removes the directory). */
export async function startPostgres(): Promise<PostgresCluster> {
  const cluster = await startPostgresCluster({ dir: mkdtempSync(join(tmpdir(), "aggregates-pg-")), removeOnStop: true, noFsync: true });
  return Object.assign(cluster, { createDatabase: () => cluster.ensureDatabase(`t${++databases}`) });
}

let shared: Promise<PostgresCluster> | undefined;

/**
 * With AGGREGATES_TEST_DB=postgres, a new database on one cluster shared by the test file (stopped
 * when the process exits) — the harnesses then run their controller on PostgreSQL; otherwise
 * undefined (they use SQLite). Throws when PostgreSQL is asked for but missing.
 */
export async function testDatabaseFromEnv(): Promise<string | undefined> {
  if (process.env["AGGREGATES_TEST_DB"] !== "postgres") return undefined;
  if (postgresMissing) throw new Error(`AGGREGATES_TEST_DB=postgres: ${postgresMissing}`);
  shared ??= startPostgres();
  return (await shared).createDatabase();
}
