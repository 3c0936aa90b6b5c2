import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeOnPostgres, startPostgres, type PostgresCluster } from "../../test/support/postgres.js";
import { eventually } from "../../test/support/eventually.js";
import pg from "pg";
import { migrations } from "./migrations.js";
import { advisoryLocks, idleInTransactionMs } from "./postgres-database.js";
import { openPostgresStore, type PostgresStore } from "./postgres-store.js";
import { storeSuite } from "../../test/support/store-suite.js";
import { cutOffCommit } from "../../test/support/commit-cutoff.js";
import { Code } from "@connectrpc/connect";
import { StoreUnavailable } from "./store-unavailable.js";

const now = () => new Date().toISOString();

describeOnPostgres("PostgresStore", () => {
  let cluster: PostgresCluster;
  const opened: PostgresStore[] = [];
  beforeAll(async () => {
    cluster = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    // The server first: a store whose transaction a failed test left open would never close.
    await cluster?.stop();
    await Promise.allSettled(opened.map((s) => s.close()));
  });

  storeSuite("PostgresStore", async () => {
    const store = await openPostgresStore(await cluster.createDatabase());
    return { store, transactionOpen: () => store.transactionOpen };
  });

  describe("on one database shared by two stores (two controller processes)", () => {
    it("migrates once, records the schema version, and a second open does not migrate again", async () => {
      const url = await cluster.createDatabase();
      const [a, b] = await Promise.all([openPostgresStore(url), openPostgresStore(url)]);
      opened.push(a, b);
      const versions = await a.pool.query<{ version: number }>("SELECT version FROM schema_version");
      expect(versions.rows).toEqual([{ version: migrations.at(-1)!.version }]);
      await a.transaction(async (t) => t.aggregates.insert("kept", null, now()));
      const c = await openPostgresStore(url);
      opened.push(c);
      expect(await c.aggregates.idByName("kept")).toBeDefined();
    });

    it("refuses a database whose schema is newer than this controller knows", async () => {
      const url = await cluster.createDatabase();
      const a = await openPostgresStore(url);
      await a.pool.query("UPDATE schema_version SET version = 99");
      await a.close();
      await expect(openPostgresStore(url)).rejects.toThrow(/newer/);
    });

    it("runs their transactions one at a time: a check-then-write in one cannot interleave with the other's", async () => {
      const url = await cluster.createDatabase();
      const [a, b] = await Promise.all([openPostgresStore(url), openPostgresStore(url)]);
      opened.push(a, b);
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let aChecked = false;
      // Both check that no aggregate exists yet, then create one: only the first may find none.
      const attempt = (store: PostgresStore, name: string, wait?: Promise<void>) =>
        store.transaction(async (t) => {
          const empty = (await t.aggregates.list({ afterId: 0, limit: 1 })).length === 0;
          if (store === a) aChecked = true;
          await wait;
          if (empty) await t.aggregates.insert(name, null, now());
          return empty;
        });
      const first = attempt(a, "from-a", held);
      while (!aChecked) await new Promise((resolve) => setTimeout(resolve, 5));
      let bDone = false;
      const second = attempt(b, "from-b").then((r) => ((bDone = true), r));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(bDone).toBe(false); // b waits for a's lock
      release();
      expect(await first).toBe(true);
      expect(await second).toBe(false);
      expect((await b.aggregates.list({ afterId: 0, limit: 10 })).map((x) => x.name)).toEqual(["from-a"]);
    });

    it("with a replica id (as the controller claims one), a second store of that id is refused until the first closes; other ids run along", async () => {
      const url = await cluster.createDatabase();
      const first = await openPostgresStore(url, { replicaId: "replica-a" });
      await expect(openPostgresStore(url, { replicaId: "replica-a" })).rejects.toThrow(/in use by another controller with replica id "replica-a" \(server process \d+/);
      const other = await openPostgresStore(url, { replicaId: "replica-b" });
      opened.push(other);
      await other.transaction(async (t) => t.aggregates.insert("from-b", null, now()));
      await first.transaction(async (t) => t.aggregates.insert("from-a", null, now()));
      await first.close();
      const second = await openPostgresStore(url, { replicaId: "replica-a" });
      opened.push(second);
      expect((await second.aggregates.list({ afterId: 0, limit: 5 })).map((a) => a.name)).toEqual(["from-b", "from-a"]);
    });

    it("two stores racing for one aggregate's lease: exactly one holds it", async () => {
      const url = await cluster.createDatabase();
      const [a, b] = await Promise.all([openPostgresStore(url), openPostgresStore(url)]);
      opened.push(a, b);
      const id = (await a.transaction(async (t) => t.aggregates.insert("raced", null, now())))!;
      const tries = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).leases.acquire(id, i % 2 === 0 ? "replica-a" : "replica-b", 60_000));
      const won = (await Promise.all(tries)).filter((l) => l !== undefined);
      expect(new Set(won.map((l) => l.holder)).size).toBe(1);
      expect(won.length).toBe(10);
      expect(new Set(won.map((l) => l.epoch))).toEqual(new Set([1]));
    });

    it("a transaction that checked its lease (holds) fences it: a takeover after expiry waits for that transaction to end", async () => {
      const url = await cluster.createDatabase();
      const [a, b] = await Promise.all([openPostgresStore(url), openPostgresStore(url)]);
      opened.push(a, b);
      const id = (await a.transaction(async (t) => t.aggregates.insert("fenced", null, now())))!;
      const lease = (await a.leases.acquire(id, "replica-a", 200))!;
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let checked = false;
      const write = a.transaction(async (t) => {
        expect(await t.leases.holds(lease)).toBe(true);
        checked = true;
        await held;
        await t.aggregates.touch(id, now());
      });
      while (!checked) await new Promise((resolve) => setTimeout(resolve, 5));
      await eventually("the lease to lapse", async () => (await b.leases.current(id)) === undefined, 5_000);
      let takenOver: unknown;
      const takeover = b.leases.acquire(id, "replica-b", 60_000).then((l) => (takenOver = l));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(takenOver).toBeUndefined(); // waits for the row lock of the fenced transaction
      release();
      await write;
      await takeover;
      expect(takenOver).toMatchObject({ holder: "replica-b", epoch: 2 });
      expect(await a.transaction(async (t) => t.leases.holds(lease))).toBe(false);
    });

    it("carries on after the server restarts: reads and transactions reconnect, nothing committed is lost", async () => {
      const url = await cluster.createDatabase();
      const store = await openPostgresStore(url);
      opened.push(store);
      const id = (await store.transaction(async (t) => t.aggregates.insert("survivor", null, now())))!;
      await store.transaction(async (t) => t.hosts.register({ name: "h1", uuid: null, xapiAddress: "a", agentEndpoint: "b", azHint: null, capacity: null, poolFacts: null }, now()));
      await cluster.restart();
      // The pool's idle connections died with the server: calls reconnect (pg-reconnect.ts) instead of failing.
      expect((await store.aggregates.get(id))?.name).toBe("survivor");
      await store.transaction(async (t) => t.aggregates.update(id, { name: "survivor-2" }, now()));
      expect(await store.heartbeat("h1", null, null, "2030-01-01T00:00:00.000Z")).toBe(true);
      expect((await store.hosts.get("h1"))!.lastHeartbeatAt).toBe("2030-01-01T00:00:00.000Z");
      expect((await store.aggregates.get(id))!.name).toBe("survivor-2");
      await store.probe();
    });

    it("a connection lost during COMMIT is StoreUnavailable (UNAVAILABLE) and the body is never run again; the next transaction runs", async () => {
      const url = await cluster.createDatabase();
      const store = await openPostgresStore(url);
      opened.push(store);
      const cut = await cutOffCommit(url, "events", "INSERT");
      let runs = 0;
      const write = store.transaction(async (t) => (runs++, t.events.append({ kind: "test.cut", message: "cut off" })));
      const failure = await write.then(
        () => undefined,
        (err: unknown) => err,
      );
      await cut.done;
      expect(failure).toBeInstanceOf(StoreUnavailable);
      expect((failure as StoreUnavailable).code).toBe(Code.Unavailable);
      expect(String(failure)).toMatch(/during COMMIT/);
      expect(runs).toBe(1);
      await store.transaction(async (t) => t.events.append({ kind: "test.after", message: "after" }));
      // Cut off before it completed, that COMMIT was rolled back here: the store could not have known.
      expect((await store.events.list({ beforeId: Number.MAX_SAFE_INTEGER, limit: 10 })).map((e) => e.kind)).toEqual(["test.after"]);
    });

    it("with a replica id, it takes its lock again after the server restarted; a second one of that id is still refused", async () => {
      const url = await cluster.createDatabase();
      const first = await openPostgresStore(url, { replicaId: "replica-a" });
      opened.push(first);
      await cluster.restart();
      await first.transaction(async (t) => t.aggregates.insert("after-restart", null, now()));
      await expect(openPostgresStore(url, { replicaId: "replica-a" })).rejects.toThrow(/in use by another controller/);
    });

    it("with a replica id, it stops writing once another session took its lock while its connection was lost", async () => {
      const url = await cluster.createDatabase();
      const first = await openPostgresStore(url, { replicaId: "replica-a" });
      opened.push(first);
      const rival = new pg.Client({ connectionString: url });
      await rival.connect();
      try {
        // The rival waits for the lock; cutting the first store's lock connection hands it over at once.
        const waiting = rival.query("SELECT pg_advisory_lock($1::int, hashtext($2))", [advisoryLocks.controller, "replica-a"]);
        await eventually("the rival to wait for the lock", async () => (await first.pool.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).rowCount === 1);
        await first.pool.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'aggregates-controller (lock)' AND datname = current_database()");
        await waiting;
        await expect(first.transaction(async (t) => t.aggregates.insert("must-not", null, now()))).rejects.toThrow(/in use by another controller/);
        expect((await rival.query("SELECT count(*)::int AS n FROM aggregates")).rows[0].n).toBe(0);
      } finally {
        await rival.end();
      }
    });

    it("a transaction stalled past idleInTransactionMs (a paused controller) is ended by the server: the others' writes go on, and it runs again", async () => {
      const url = await cluster.createDatabase();
      const [a, b] = await Promise.all([openPostgresStore(url), openPostgresStore(url)]);
      opened.push(a, b);
      let attempts = 0;
      let release!: () => void;
      const stalled = new Promise<void>((resolve) => (release = resolve));
      const first = a.transaction(async (t) => {
        attempts++;
        await t.aggregates.insert(`stalled-${attempts}`, null, now());
        if (attempts === 1) await stalled; // idle in the transaction, holding the write lock
        await t.aggregates.insert(`after-${attempts}`, null, now());
      });
      await eventually("the first transaction to hold the write lock", () => attempts === 1, 5_000);
      const started = Date.now();
      await b.transaction(async (t) => t.aggregates.insert("from-b", null, now()));
      expect(Date.now() - started).toBeGreaterThanOrEqual(idleInTransactionMs - 500);
      release();
      await first;
      expect(attempts).toBe(2);
      expect((await b.aggregates.list({ afterId: 0, limit: 10 })).map((x) => x.name)).toEqual(["from-b", "stalled-2", "after-2"]);
    }, 30_000);

    it("a read sees another store's committed write at once (no cache outlives it)", async () => {
      const url = await cluster.createDatabase();
      const [a, b] = await Promise.all([openPostgresStore(url), openPostgresStore(url)]);
      opened.push(a, b);
      const id = (await a.transaction(async (t) => t.aggregates.insert("before", null, now())))!;
      expect((await b.aggregates.get(id))!.name).toBe("before");
      await a.transaction(async (t) => t.aggregates.update(id, { name: "after" }, now()));
      expect((await b.aggregates.get(id))!.name).toBe("after");
    });
  });
});
