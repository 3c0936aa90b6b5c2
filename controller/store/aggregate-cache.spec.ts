/**
 * The SQLite store's aggregate read cache (aggregate-repo.ts) against what a second connection reads
 * from the file: after random writes, failing members, membership moves and reads during groups, a
 * cached record or page is always the committed one.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { abandonJoin, beginJoin, beginLeave, confirmMember, errorAfterRepair, markFailed, masterFailureCondition, release } from "../model/lifecycle.js";
import { AggregateRepo } from "./aggregate-repo.js";
import { openSqliteStore, type SqliteStore } from "./sqlite-store.js";
import type { StoreTx } from "./store.js";

const now = () => new Date().toISOString();
const hostNames = ["h0", "h1", "h2", "h3", "h4", "h5"];

describe("SqliteStore aggregate cache", () => {
  let dir: string;
  let store: SqliteStore;
  let other: Database.Database;
  /** The aggregates as a fresh repo on a second connection reads them: committed rows only, no cache. */
  const fresh = () => new AggregateRepo(other, { aggregateTouched() {}, requireTransaction() {} });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "aggregate-cache-"));
    store = openSqliteStore(join(dir, "controller.db"));
    other = new Database(join(dir, "controller.db"), { readonly: true });
    await store.transaction(async (tx) => {
      for (const name of hostNames) await tx.hosts.register({ name, uuid: null, xapiAddress: "x", agentEndpoint: "y", azHint: null, capacity: null, poolFacts: null }, now());
    });
  });
  afterEach(async () => {
    other.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a member's new state is read at once, also when the aggregate's pool state stays the same", async () => {
    const id = (await store.transaction(async (tx) => tx.aggregates.insert("pool", null, now())))!;
    await store.transaction(async (tx) => tx.hosts.apply("h0", beginJoin(id)));
    expect((await store.aggregates.get(id))!.members).toEqual([{ host: "h0", state: "JOINING" }]);
    await store.transaction(async (tx) => tx.hosts.apply("h0", confirmMember()));
    expect((await store.aggregates.get(id))!.members).toEqual([{ host: "h0", state: "MEMBER" }]);
    expect(await store.transaction(async (tx) => (await tx.aggregates.get(id))!.members)).toEqual([{ host: "h0", state: "MEMBER" }]);
  });

  it("a write to one aggregate leaves the others cached, and what a transaction wrote is what is read after it", async () => {
    const [a, b] = await store.transaction(async (tx) => [(await tx.aggregates.insert("a", null, now()))!, (await tx.aggregates.insert("b", null, now()))!]);
    const cachedB = await store.aggregates.get(b!);
    await store.transaction(async (tx) => tx.aggregates.setMetadata(a!, { k: "v" }, [], now()));
    expect(await store.aggregates.get(b!)).toBe(cachedB);
    expect(await store.aggregates.get(a!)).toEqual(fresh().get(a!));
    await expect(
      store.transaction(async (tx) => {
        await tx.aggregates.setMetadata(a!, { k: "rolled back" }, [], now());
        expect((await tx.aggregates.get(a!))!.metadata).toEqual({ k: "rolled back" });
        throw new Error("undo");
      }),
    ).rejects.toThrow("undo");
    expect((await store.aggregates.get(a!))!.metadata).toEqual({ k: "v" });
    // Nor does the next commit bring back what the rolled-back transaction read.
    await store.transaction(async (tx) => tx.aggregates.setMetadata(b!, { k: "w" }, [], now()));
    expect((await store.aggregates.get(a!))!.metadata).toEqual({ k: "v" });
    expect(await store.transaction(async (tx) => (await tx.aggregates.get(a!))!.metadata)).toEqual({ k: "v" });
  });

  it.each([1, 2, 12345])("random writes, failing members and reads during groups (seed %i): cached reads equal committed rows", async (firstSeed) => {
    let seed = firstSeed;
    const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
    const ops: ((tx: StoreTx, ids: number[]) => Promise<unknown>)[] = [
      async (tx) => tx.aggregates.insert(`a${rnd(8)}`, rnd(2) ? null : `z${rnd(2)}`, now()),
      async (tx, ids) => ids.length && tx.aggregates.update(ids[rnd(ids.length)]!, { name: `n${rnd(50)}` }, now()),
      async (tx, ids) => ids.length && tx.aggregates.update(ids[rnd(ids.length)]!, { availabilityZone: `z${rnd(3)}` }, now()),
      async (tx, ids) => ids.length && tx.aggregates.setMetadata(ids[rnd(ids.length)]!, { [`k${rnd(3)}`]: `v${rnd(9)}` }, rnd(2) ? [`k${rnd(3)}`] : [], now()),
      async (tx, ids) => ids.length && tx.aggregates.updatePool(ids[rnd(ids.length)]!, { masterHost: hostNames[rnd(6)], drift: [`d${rnd(3)}`] }, now()),
      async (tx, ids) => ids.length && tx.aggregates.setError(ids[rnd(ids.length)]!, rnd(2) ? masterFailureCondition("down", now()) : errorAfterRepair(), now()),
      async (tx, ids) => {
        const name = hostNames[rnd(6)]!;
        const host = await tx.hosts.get(name);
        if (!host) return;
        if (host.aggregateId === null && ids.length) return tx.hosts.apply(name, beginJoin(ids[rnd(ids.length)]!));
        if (host.membership === "JOINING") return tx.hosts.apply(name, rnd(2) ? confirmMember() : abandonJoin());
        if (host.membership === "MEMBER") return tx.hosts.apply(name, rnd(2) ? beginLeave() : markFailed("x"));
        if (host.aggregateId !== null) return tx.hosts.apply(name, release(host.aggregateId));
      },
      // Read, write, read again in one body (what an intake does).
      async (tx, ids) => {
        if (!ids.length) return;
        const id = ids[rnd(ids.length)]!;
        await tx.aggregates.get(id);
        await tx.aggregates.setMetadata(id, { [`r${rnd(3)}`]: `v${rnd(9)}` }, [], now());
        return tx.aggregates.get(id);
      },
      async (tx, ids) => {
        if (!ids.length) return;
        const id = ids[rnd(ids.length)]!;
        const a = await tx.aggregates.get(id);
        if (a && a.members.length === 0) await tx.aggregates.delete(id);
      },
    ];
    const allIds = async () => (await store.aggregates.list({ afterId: 0, limit: 1000 })).map((a) => a.id);
    for (let round = 0; round < 120; round++) {
      const ids = await allIds();
      const burst: Promise<unknown>[] = [];
      for (let i = 0; i < 1 + rnd(5); i++) {
        const op = ops[rnd(ops.length)]!;
        const fails = rnd(4) === 0;
        burst.push(
          store
            .transaction(async (tx) => {
              await op(tx, ids);
              if (fails) throw new Error("member fails");
            })
            .catch(() => {}),
        );
        if (rnd(2)) burst.push(store.aggregates.list({ afterId: 0, limit: 1 + rnd(3) }), ...ids.slice(0, 3).map((id) => store.aggregates.get(id)));
      }
      await Promise.all(burst);
      for (const id of await allIds()) expect(await store.aggregates.get(id), `round ${round}, aggregate ${id}`).toEqual(fresh().get(id));
      for (const limit of [1, 2, 1000]) expect(await store.aggregates.list({ afterId: 0, limit }), `round ${round}, page of ${limit}`).toEqual(fresh().list({ afterId: 0, limit }));
    }
  });
});
