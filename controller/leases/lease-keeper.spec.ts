import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../shared/logging.js";
import { eventually } from "../../test/support/eventually.js";
import { openSqliteStore, type SqliteStore } from "../store/sqlite-store.js";
import { LeaseKeeper } from "./lease-keeper.js";

describe("the lease keeper", () => {
  let store: SqliteStore;
  let id: number;
  let now: number;
  const clock = () => now;
  const keepers: LeaseKeeper[] = [];
  const keeper = async (holder: string, takeOverAtOnce = false) => {
    const k = new LeaseKeeper(store.leases, { ttlMs: 10_000, takeOverAtOnce }, silentLogger, clock);
    keepers.push(k);
    await k.start(holder);
    return k;
  };

  beforeEach(async () => {
    store = openSqliteStore(":memory:");
    id = (await store.transaction(async (t) => t.aggregates.insert("kept", null, new Date().toISOString())))!;
    now = 1000;
  });
  afterEach(async () => {
    await Promise.all(keepers.splice(0).map((k) => k.close()));
    await store.close();
  });

  it("takes a lease once and hands the same holding back while it is valid; another replica gets none", async () => {
    const a = await keeper("replica-a");
    const b = await keeper("replica-b");
    const held = (await a.take(id))!;
    expect(held.lease).toMatchObject({ aggregateId: id, holder: "replica-a", epoch: 1 });
    expect(await a.take(id)).toBe(held);
    expect(await b.take(id)).toBeUndefined();
  });

  it("trusts a lease until the TTL less the margin, counted from when it was asked for; then it is lost and its signal aborted", async () => {
    const a = await keeper("replica-a");
    const held = (await a.take(id))!;
    now += 8_999;
    expect(held.valid()).toBe(true);
    now += 1;
    expect(held.valid()).toBe(false);
    expect(held.signal.aborted).toBe(true);
    expect(a.held(id)).toBeUndefined();
  });

  it("a renewal moves the local deadline on from when it was sent, keeping the epoch", async () => {
    const a = await keeper("replica-a");
    const held = (await a.take(id))!;
    now += 3000;
    await a.renew();
    now += 8_999;
    expect(held.valid()).toBe(true);
    expect((await store.leases.current(id))?.epoch).toBe(1);
  });

  it("a renewal that does not return a lease (taken elsewhere) loses it at once; a new take starts a new holding", async () => {
    const a = await keeper("replica-a");
    const held = (await a.take(id))!;
    await store.leases.release(held.lease);
    await store.leases.acquire(id, "replica-b", 1);
    await a.renew();
    expect(held.signal.aborted).toBe(true);
    const again = await eventually("the other lease (1 ms) to lapse", () => a.take(id), 2_000);
    expect(again).not.toBe(held);
    expect(again.lease.epoch).toBeGreaterThan(held.lease.epoch);
  });

  it("a renewal that fails loses every lease", async () => {
    const a = await keeper("replica-a");
    const held = (await a.take(id))!;
    const renew = store.leases.renew;
    Object.assign(store.leases, { renew: () => Promise.reject(new Error("database gone")) });
    try {
      await a.renew();
    } finally {
      Object.assign(store.leases, { renew });
    }
    expect(held.valid()).toBe(false);
  });

  it("taking over at once (SQLite after a restart) lapses the earlier holders' leases; closing gives the leases up", async () => {
    const dead = new LeaseKeeper(store.leases, { ttlMs: 60_000, takeOverAtOnce: false }, silentLogger, clock);
    await dead.start("killed");
    expect(await dead.take(id)).toBeDefined();
    const b = await keeper("restarted", true);
    const held = (await b.take(id))!;
    expect(held.lease).toMatchObject({ holder: "restarted", epoch: 2 });
    await b.close();
    expect(held.signal.aborted).toBe(true);
    expect(await store.leases.current(id)).toBeUndefined();
  });
});
