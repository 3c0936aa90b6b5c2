/**
 * One process per replica id on a PostgreSQL database (two processes with one id would both take
 * that replica's leases as their own): a session-level advisory lock keyed by the id, held on a
 * connection of its own for as long as the store is open. A second process with the same id is
 * refused, as the SQLite lock file refuses a second controller; replicas with other ids run along. When the lock's connection is lost (the server restarted), the lock is taken again as
 * soon as the database answers, and store transactions wait for it; should another controller have
 * taken it meanwhile, every later transaction fails instead.
 */
import pg from "pg";
import { advisoryLocks } from "./postgres-database.js";
import { isConnectionLoss, retryOnConnectionLoss } from "./pg-reconnect.js";

/** The controller lock, held. */
export interface ControllerLock {
  /** Resolves while the lock is held (or once it is held again); rejects when another process with the replica id has it. */
  held(): Promise<void>;
  /**
   * Inside a transaction on connection: true when the lock's session still holds the lock on the
   * server. When not, the lock is being taken again (held() tells how that ends).
   */
  confirm(connection: pg.ClientBase): Promise<boolean>;
  release(): Promise<void>;
}

/** The two advisory-lock keys of a replica id: the controller's purpose, and the id's hash. */
const lockKeys = "$1::int, hashtext($2)";

/** Matches the lock of lockKeys in pg_locks (a two-key lock: classid, objid, objsubid 2). */
const lockRow = "locktype = 'advisory' AND classid = $1::int::oid AND objid = (hashtext($2)::bigint & 4294967295)::oid AND objsubid = 2 AND granted";

/** Takes the lock on a new connection; throws, naming the holder, when another process with this replica id has it. */
async function take(url: string, printable: string, replicaId: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: "aggregates-controller (lock)" });
  client.on("error", () => {});
  await client.connect();
  try {
    const [row] = (await client.query<{ taken: boolean }>(`SELECT pg_try_advisory_lock(${lockKeys}) AS taken`, [advisoryLocks.controller, replicaId])).rows;
    if (row?.taken) return client;
    const holders = await client.query<{ pid: number; client_addr: string | null }>(
      `SELECT pid, client_addr FROM pg_locks JOIN pg_stat_activity USING (pid) WHERE ${lockRow}`,
      [advisoryLocks.controller, replicaId],
    );
    const who = holders.rows.map((h) => `server process ${h.pid}${h.client_addr ? ` from ${h.client_addr}` : ""}`).join(", ") || "another session";
    throw new Error(
      `the database ${printable} is in use by another controller with replica id "${replicaId}" (${who}); stop that controller first, or give this one another --replica-id`,
    );
  } catch (err) {
    await client.end().catch(() => {});
    throw err;
  }
}

/** Takes the lock of a replica id on the database at url and keeps it (printable names the database in errors). */
export async function acquireControllerLock(url: string, printable: string, replicaId: string, retakeBudgetMs = 10 * 60_000): Promise<ControllerLock> {
  let released = false;
  let client = await take(url, printable, replicaId);
  let retaking = false;
  let state: Promise<void> = Promise.resolve();
  const retake = (lost: pg.Client) => {
    if (released || retaking || lost !== client) return;
    retaking = true;
    void lost.end().catch(() => {});
    state = retryOnConnectionLoss(() => take(url, printable, replicaId), retakeBudgetMs).then(
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
      const rows = await connection.query(`SELECT 1 FROM pg_locks WHERE ${lockRow} AND pid = $3`, [advisoryLocks.controller, replicaId, pid ?? 0]);
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
