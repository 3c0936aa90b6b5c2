import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { markFailed } from "../model/lifecycle.js";
import { openSqliteStore, type SqliteStore } from "./sqlite-store.js";
import { eventually } from "../../test/support/eventually.js";
import { storeSuite } from "../../test/support/store-suite.js";

const now = () => new Date().toISOString();

storeSuite("SqliteStore", async () => {
  const store = openSqliteStore(":memory:");
  return { store, transactionOpen: () => store.db.inTransaction };
});

describe("SqliteStore heartbeats", () => {
  let dir: string;
  let store: SqliteStore;
  let other: Database.Database;
  const capacity = (freeBytes: number) => ({ memoryTotalBytes: 64 << 30, memoryFreeBytes: freeBytes, runningVms: 1, cpuVendor: "GenuineIntel" });
  const facts = (xapiReachable: boolean) => ({ hostUuid: "uuid-hb", poolUuid: "pool", poolName: "p", masterAddress: "192.0.2.1", role: "MASTER" as const, xapiReachable, emergencyMode: false });
  /** What a second connection reads from the file: only what was committed. */
  const committed = () => other.prepare("SELECT capacity, liveness, last_heartbeat_at FROM hosts WHERE name = 'hb'").get() as { capacity: string; liveness: string; last_heartbeat_at: string };
  const dataVersion = () => other.pragma("data_version", { simple: true }) as number;
  /** Every synchronous= setting the store makes from now on, in order. */
  const synchronousSettings = (): string[] => {
    const settings: string[] = [];
    const pragma = store.db.pragma.bind(store.db);
    store.db.pragma = ((source: string, options?: Database.PragmaOptions) => {
      if (source.startsWith("synchronous =")) settings.push(source);
      return pragma(source, options);
    }) as typeof store.db.pragma;
    return settings;
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "store-spec-"));
    store = openSqliteStore(join(dir, "controller.db"));
    await store.transaction(async (t) =>
      t.hosts.register({ name: "hb", uuid: null, xapiAddress: "192.0.2.1", agentEndpoint: "127.0.0.1:1", azHint: null, capacity: capacity(1), poolFacts: null }, "2026-01-01T00:00:00.000Z"),
    );
    other = new Database(join(dir, "controller.db"), { readonly: true });
  });
  afterEach(async () => {
    other.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a host read sees the latest heartbeat at once, and no commit happened for it", async () => {
    const before = dataVersion();
    const at = now();
    expect(await store.heartbeat("hb", capacity(7), facts(false), at)).toBe(true);
    const read = await store.hosts.get("hb");
    expect(read).toMatchObject({ capacity: capacity(7), poolFacts: facts(false), uuid: "uuid-hb", liveness: "XAPI_UNREACHABLE", lastHeartbeatAt: at });
    expect((await store.hosts.list({ afterName: "", limit: 10 }))[0]).toEqual(read);
    // Not silent: the pending heartbeat is newer than the cutoff, though the committed one is old.
    expect(await store.hosts.silentSince(new Date(Date.parse(at) - 1000).toISOString())).toEqual([]);
    expect(dataVersion()).toBe(before);
    expect(committed()).toMatchObject({ liveness: "ALIVE", last_heartbeat_at: "2026-01-01T00:00:00.000Z" });
  });

  it("the heartbeat is committed in the background, as the read showed it", async () => {
    const at = now();
    await store.heartbeat("hb", capacity(9), null, at);
    const read = await store.hosts.get("hb");
    const deadline = Date.now() + 10_000;
    while (committed().last_heartbeat_at !== at && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(committed()).toEqual({ capacity: JSON.stringify(capacity(9)), liveness: "ALIVE", last_heartbeat_at: at });
    expect(await store.hosts.get("hb")).toEqual(read);
  });

  it("a registration written after a pending heartbeat wins over it, in reads and once the batch is written", async () => {
    await store.heartbeat("hb", capacity(5), null, "2026-01-02T00:00:00.000Z");
    await store.transaction(async (t) =>
      t.hosts.register({ name: "hb", uuid: null, xapiAddress: "192.0.2.1", agentEndpoint: "127.0.0.1:1", azHint: null, capacity: capacity(6), poolFacts: null }, "2026-01-02T00:00:01.000Z"),
    );
    expect(await store.hosts.get("hb")).toMatchObject({ capacity: capacity(6), lastHeartbeatAt: "2026-01-02T00:00:01.000Z" });
    await store.close();
    expect(committed()).toMatchObject({ capacity: JSON.stringify(capacity(6)), last_heartbeat_at: "2026-01-02T00:00:01.000Z" });
  });

  it("a heartbeat batch is committed without an fsync (synchronous=NORMAL); every other transaction with one", async () => {
    const settings = synchronousSettings();
    await store.transaction(async (t) => t.aggregates.insert("synced", null, now()));
    expect(settings).toEqual([]);
    await store.heartbeat("hb", capacity(3), null, now());
    await store.close();
    expect(settings).toEqual(["synchronous = NORMAL", "synchronous = FULL"]);
    expect(JSON.parse(committed().capacity)).toEqual(capacity(3));
  });

  it("a written beat keeps what it leaves out and replaces what it carries", async () => {
    const stored = () => other.prepare("SELECT capacity, pool_facts, uuid FROM hosts WHERE name = 'hb'").get() as { capacity: string; pool_facts: string | null; uuid: string | null };
    await store.heartbeat("hb", null, facts(true), now());
    await store.close(); // writes the batch
    expect(stored()).toEqual({ capacity: JSON.stringify(capacity(1)), pool_facts: JSON.stringify(facts(true)), uuid: "uuid-hb" });
    store = openSqliteStore(join(dir, "controller.db"));
    await store.heartbeat("hb", capacity(2), null, now());
    await store.close();
    expect(stored()).toEqual({ capacity: JSON.stringify(capacity(2)), pool_facts: JSON.stringify(facts(true)), uuid: "uuid-hb" });
  });

  it("a batch the timer cannot write (another connection holds the file's write lock) is kept and written later, with no unhandled rejection", async () => {
    store.db.pragma("busy_timeout = 50");
    const attempts = synchronousSettings();
    // vitest's own listeners would fail the run without saying which call rejected: listen instead of them for a while.
    const unhandled: unknown[] = [];
    const listener = (reason: unknown) => void unhandled.push(reason);
    const vitestListeners = process.listeners("unhandledRejection");
    process.removeAllListeners("unhandledRejection");
    process.on("unhandledRejection", listener);
    const locker = new Database(join(dir, "controller.db"));
    const at = now();
    try {
      locker.exec("BEGIN IMMEDIATE"); // an operator's sqlite3 shell, a backup
      expect(await store.heartbeat("hb", capacity(4), null, at)).toBe(true);
      // The timer's flush set synchronous=NORMAL, failed to begin, and set FULL again.
      await eventually("a flush to fail", () => attempts.includes("synchronous = FULL"));
      await new Promise((resolve) => setImmediate(resolve)); // an unhandled rejection is reported after the microtasks of a turn
      expect(unhandled.map(String)).toEqual([]);
      expect((await store.hosts.get("hb"))!.capacity).toEqual(capacity(4));
    } finally {
      locker.exec("ROLLBACK");
      locker.close();
      process.off("unhandledRejection", listener);
      for (const l of vitestListeners) process.on("unhandledRejection", l);
    }
    await eventually("the kept batch to be written", () => committed().last_heartbeat_at === at);
    expect(JSON.parse(committed().capacity)).toEqual(capacity(4));
  });

  it("a FAILED host stays FAILED through a heartbeat, pending or written", async () => {
    await store.transaction(async (t) => t.hosts.apply("hb", markFailed("spec")));
    await store.heartbeat("hb", null, facts(true), now());
    expect((await store.hosts.get("hb"))?.liveness).toBe("FAILED");
    await store.close();
    expect(committed().liveness).toBe("FAILED");
  });
});

describe("SqliteStore group commit", () => {
  let dir: string;
  let store: SqliteStore;
  let other: Database.Database;
  /** Whether a second connection to the file sees the aggregate: only committed rows are visible to it. */
  const committed = (name: string) => other.prepare("SELECT 1 FROM aggregates WHERE name = ?").get(name) !== undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "store-spec-"));
    store = openSqliteStore(join(dir, "controller.db"));
    other = new Database(join(dir, "controller.db"), { readonly: true });
  });
  afterEach(async () => {
    other.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("concurrent writes share one commit, and each caller is answered only once it is committed", async () => {
    const before = store.commits;
    const names = Array.from({ length: 10 }, (_, i) => `together-${i}`);
    const seenAtAnswer = await Promise.all(
      names.map((name) => store.transaction(async (t) => t.aggregates.insert(name, null, now())).then(() => ({ commits: store.commits, all: names.every(committed) }))),
    );
    expect(store.commits).toBe(before + 1);
    // Every caller was answered after the shared commit, with every member's row already durable.
    expect(seenAtAnswer).toEqual(names.map(() => ({ commits: before + 1, all: true })));
  });

  it("a member that throws is rolled back alone; the others commit together", async () => {
    const before = store.commits;
    const results = await Promise.allSettled([
      store.transaction(async (t) => t.aggregates.insert("kept-1", null, now())),
      store.transaction(async (t) => {
        await t.aggregates.insert("dropped", null, now());
        throw new Error("this member fails");
      }),
      store.transaction(async (t) => t.aggregates.insert("kept-2", null, now())),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(store.commits).toBe(before + 1);
    expect([committed("kept-1"), committed("dropped"), committed("kept-2")]).toEqual([true, false, true]);
    expect(await store.aggregates.idByName("dropped")).toBeUndefined();
  });

  it("a sole member that throws is rolled back whole, and the next transaction commits", async () => {
    const before = store.commits;
    await expect(
      store.transaction(async (t) => {
        await t.aggregates.insert("alone-dropped", null, now());
        throw new Error("the only member fails");
      }),
    ).rejects.toThrow("the only member fails");
    expect(committed("alone-dropped")).toBe(false);
    expect(await store.aggregates.idByName("alone-dropped")).toBeUndefined();
    expect(store.commits).toBe(before);
    await store.transaction(async (t) => t.aggregates.insert("alone-kept", null, now()));
    expect([committed("alone-dropped"), committed("alone-kept")]).toEqual([false, true]);
  });

  it("a write whose statement made the database roll the whole transaction back fails, though its body caught the error", async () => {
    // RAISE(ROLLBACK) ends the whole transaction, as SQLite does itself on some I/O errors or a full disk.
    store.db.exec("CREATE TEMP TRIGGER refuse_boom BEFORE INSERT ON events WHEN NEW.kind = 'boom' BEGIN SELECT RAISE(ROLLBACK, 'boom'); END");
    const swallowing = (name: string) =>
      store.transaction(async (t) => {
        await t.aggregates.insert(name, null, now());
        await t.events.append({ kind: "boom", message: "refused" }).catch(() => {});
        return "answered";
      });
    await expect(swallowing("alone-gone")).rejects.toThrow(/rolled the transaction back/);
    // In a group, the members before it lost their writes too: they fail with it; the members after it commit.
    const results = await Promise.allSettled([
      store.transaction(async (t) => t.aggregates.insert("before-gone", null, now())),
      swallowing("grouped-gone"),
      store.transaction(async (t) => t.aggregates.insert("after-kept", null, now())),
    ]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "fulfilled"]);
    expect(["alone-gone", "before-gone", "grouped-gone", "after-kept"].map(committed)).toEqual([false, false, false, true]);
  });

  it("calls through the store inside a body join its transaction, group after group", async () => {
    for (const name of ["joined-1", "joined-2", "joined-3"]) {
      const seen = await store.transaction(async () => {
        // Through the store, not tx: outside a transaction this read would wait for the group to end.
        const id = (await store.transaction(async () => store.aggregates.insert(name, null, now())))!;
        return { id, read: await store.aggregates.idByName(name), committedInside: committed(name) };
      });
      expect(seen.read).toBe(seen.id);
      expect(seen.committedInside).toBe(false);
      expect(committed(name)).toBe(true);
    }
  });

  it("a read asked for while a group runs waits for its commit, and sees it", async () => {
    const write = store.transaction(async (t) => t.aggregates.insert("grouped", null, now()));
    const read = store.aggregates.idByName("grouped");
    expect(await read).toBe(await write);
    expect(committed("grouped")).toBe(true);
  });
});
