/**
 * One controller per PostgreSQL database (until operations run under per-aggregate leases, two
 * engines would drive the same pools): a session-level advisory lock, held on a connection of its
 * own for as long as the store is open. A second controller is refused, as the SQLite lock file
 * refuses one. When the lock's connection is lost (the server restarted), the lock is taken again as
 * soon as the database answers, and store transactions wait for it; should another controller have
 * taken it meanwhile, every later transaction fails instead.
 */
import pg from "pg";
import { advisoryLocks } from "./postgres-database.js";
import { isConnectionLoss, retryOnConnectionLoss } from "./pg-reconnect.js";

/** The controller lock, held. */
export interface ControllerLock {
  /** Resolves while the lock is held (or once it is held again); rejects when another controller has it. */
  held(): Promise<void>;
  /**
   * Inside a transaction on connection: true when the lock's session still holds the lock on the
   * server. When not, the lock is being taken again (held() tells how that ends).
   */
  confirm(connection: pg.ClientBase): Promise<boolean>;
  release(): Promise<void>;
}

/** Takes the lock on a new connection; throws, naming the holder, when another controller has it. */
async function take(url: string, printable: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: "aggregates-controller (lock)" });
  client.on("error", () => {});
  await client.connect();
  try {
    const [row] = (await client.query<{ taken: boolean }>("SELECT pg_try_advisory_lock($1) AS taken", [advisoryLocks.controller])).rows;
    if (row?.taken) return client;
    const holders = await client.query<{ pid: number; client_addr: string | null }>(
      "SELECT pid, client_addr FROM pg_locks JOIN pg_stat_activity USING (pid) WHERE locktype = 'advisory' AND objid = $1 AND granted",
      [advisoryLocks.controller],
    );
    const who = holders.rows.map((h) => `server process ${h.pid}${h.client_addr ? ` from ${h.client_addr}` : ""}`).join(", ") || "another session";
    throw new Error(`the database ${printable} is in use by another controller (${who}); stop that controller first`);
  } catch (err) {
    await client.end().catch(() => {});
    throw err;
  }
}

/** Takes the controller lock of the database at url and keeps it (printable names the database in errors). */
export async function acquireControllerLock(url: string, printable: string, retakeBudgetMs = 10 * 60_000): Promise<ControllerLock> {
  let released = false;
  let client = await take(url, printable);
  let retaking = false;
  let state: Promise<void> = Promise.resolve();
  const retake = (lost: pg.Client) => {
    if (released || retaking || lost !== client) return;
    retaking = true;
    void lost.end().catch(() => {});
    state = retryOnConnectionLoss(() => take(url, printable), retakeBudgetMs).then(
      (next) => {
        retaking = false;
        client = next;
        if (released) void next.end().catch(() => {});
        else next.once("end", () => retake(next));
      },
      (err: unknown) => {
        throw isConnectionLoss(err) ? new Error(`the controller lock of ${printable} could not be taken again: ${String(err)}`) : err;
      },
    );
    state.catch(() => {}); // observed by held()
  };
  client.once("end", () => retake(client));
  return {
    held: () => state,
    async confirm(connection) {
      const current = client;
      const pid = (current as unknown as { processID?: number }).processID;
      const rows = await connection.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND granted AND pid = $2", [advisoryLocks.controller, pid ?? 0]);
      if (rows.rowCount === 1) return true;
      retake(current);
      return false;
    },
    async release() {
      released = true;
      await client.end().catch(() => {});
    },
  };
}
