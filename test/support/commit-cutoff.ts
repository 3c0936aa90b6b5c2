/**
 * A real connection loss during COMMIT on PostgreSQL, for tests: a deferred constraint trigger on a
 * table makes the next COMMIT that wrote to it wait, and the server then terminates that backend
 * (pg_terminate_backend) while the COMMIT is in flight — what a server restart or a network cut
 * at that moment does. The trigger is dropped once it has served.
 */
import pg from "pg";
import { eventually } from "./eventually.js";

/** A cut-off armed on a table. */
export interface CommitCutoff {
  /** Resolves once one COMMIT was cut off (and the trigger dropped); rejects after timeoutMs. */
  done: Promise<void>;
}

/** Arms a cut-off of the next COMMIT of a transaction that wrote a row of `table` with one of the statements `on`. */
export async function cutOffCommit(url: string, table: string, on: "INSERT" | "UPDATE" | "INSERT OR UPDATE", timeoutMs = 30_000): Promise<CommitCutoff> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE OR REPLACE FUNCTION test_slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(10); RETURN NULL; END $$`);
  await admin.query(`CREATE CONSTRAINT TRIGGER test_slow_commit AFTER ${on} ON ${table} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_slow_commit()`);
  const done = (async () => {
    try {
      const terminated = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active' AND query = 'COMMIT' AND wait_event = 'PgSleep'";
      await eventually(`a COMMIT writing to ${table}, cut off`, async () => ((await admin.query(terminated)).rowCount ?? 0) > 0, timeoutMs);
      await admin.query(`DROP TRIGGER test_slow_commit ON ${table}`);
    } finally {
      await admin.end();
    }
  })();
  return { done };
}
