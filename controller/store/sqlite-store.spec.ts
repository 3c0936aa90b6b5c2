import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openSqliteStore, type SqliteStore } from "./sqlite-store.js";

const now = () => new Date().toISOString();

describe("SqliteStore transactions", () => {
  let store: SqliteStore;
  beforeEach(() => {
    store = openSqliteStore(":memory:");
  });
  afterEach(async () => store.close());

  it("refuses a write outside a transaction", async () => {
    await expect(store.aggregates.insert("loose", null, now())).rejects.toThrow(/inside store.transaction/);
    expect(await store.aggregates.list({ afterId: 0, limit: 10 })).toEqual([]);
  });

  it("a read from outside waits for an open transaction and never sees its uncommitted rows", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let inserted = false;
    const tx = store.transaction(async (t) => {
      await t.aggregates.insert("pending", null, now());
      inserted = true;
      await held;
    });
    while (!inserted) await new Promise((resolve) => setImmediate(resolve));
    let seen: string[] | undefined;
    const read = store.aggregates.list({ afterId: 0, limit: 10 }).then((page) => (seen = page.map((a) => a.name)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toBeUndefined();
    release();
    await Promise.all([tx, read]);
    expect(seen).toEqual(["pending"]);
  });

  it("rolls everything back when the body throws, and the next transaction runs", async () => {
    await expect(
      store.transaction(async (t) => {
        await t.aggregates.insert("doomed", null, now());
        throw new Error("body failed");
      }),
    ).rejects.toThrow("body failed");
    expect(await store.aggregates.idByName("doomed")).toBeUndefined();
    await store.transaction(async (t) => t.aggregates.insert("after", null, now()));
    expect(await store.aggregates.idByName("after")).toBeDefined();
  });

  it("a nested transaction and the store's own methods join the open transaction", async () => {
    await expect(
      store.transaction(async (t) => {
        await t.aggregates.insert("outer", null, now());
        await store.transaction(async () => store.aggregates.insert("inner", null, now()));
        expect(await store.aggregates.idByName("inner")).toBeDefined();
        throw new Error("undo both");
      }),
    ).rejects.toThrow("undo both");
    expect(await store.aggregates.list({ afterId: 0, limit: 10 })).toEqual([]);
  });

  it("transactions run one at a time, in the order they were asked for", async () => {
    const order: string[] = [];
    await Promise.all(
      ["a", "b", "c"].map((name) =>
        store.transaction(async (t) => {
          order.push(`begin ${name}`);
          await t.aggregates.insert(name, null, now());
          await new Promise((resolve) => setImmediate(resolve));
          order.push(`end ${name}`);
        }),
      ),
    );
    expect(order).toEqual(["begin a", "end a", "begin b", "end b", "begin c", "end c"]);
  });

  it("a duplicate name is answered as undefined, not as a driver error", async () => {
    await store.transaction(async (t) => t.aggregates.insert("twice", null, now()));
    expect(await store.transaction(async (t) => t.aggregates.insert("twice", null, now()))).toBeUndefined();
  });

  it("announces an operation change only once its transaction committed", async () => {
    const id = "op-spec";
    let openWhenWoken: boolean | undefined;
    const woken = store.changes.next(id, 5_000).then(() => (openWhenWoken = store.db.inTransaction));
    await store.transaction(async (t) => {
      await t.operations.insert({ id, kind: "ADD_HOST", aggregateId: null, host: "h", steps: [], params: {} }, now());
      await new Promise((resolve) => setImmediate(resolve)); // the transaction stays open a while after the write
    });
    await woken;
    expect(openWhenWoken).toBe(false);
  });
});
