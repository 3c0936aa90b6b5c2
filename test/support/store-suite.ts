/**
 * The behaviour every implementation of the store port must have, as a vitest suite: run by
 * controller/store/sqlite-store.spec.ts and postgres-store.spec.ts against their own stores (kept
 * out of controller/ so that the build does not ship it).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { eventually } from "./eventually.js";
import { beginJoin, confirmMember, fenced, markFailed } from "../../controller/model/lifecycle.js";
import type { Registration, Store, StoreTx } from "../../controller/store/store.js";

const now = () => new Date().toISOString();

/** A fresh, empty store, and whether one of its transactions is open right now. */
export interface OpenedStore {
  store: Store;
  transactionOpen(): boolean;
}

const registration = (name: string): Registration => ({
  name,
  uuid: null,
  xapiAddress: `${name}.example:443`,
  agentEndpoint: `${name}.example:50061`,
  azHint: null,
  capacity: null,
  poolFacts: null,
});

const facts = { hostUuid: "u-1", poolUuid: "p-1", poolName: "pool", masterAddress: "m", role: "MASTER" as const, xapiReachable: false, emergencyMode: false };

/** Declares the store port's suite against stores that open() makes. */
export function storeSuite(name: string, open: () => Promise<OpenedStore>): void {
  describe(`${name}: transactions`, () => {
    let opened: OpenedStore;
    let store: Store;
    beforeEach(async () => {
      opened = await open();
      store = opened.store;
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
      await new Promise((resolve) => setTimeout(resolve, 20));
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

    it("a duplicate name is answered as undefined, not as a driver error, and the transaction goes on", async () => {
      await store.transaction(async (t) => t.aggregates.insert("twice", null, now()));
      const second = await store.transaction(async (t) => {
        const id = await t.aggregates.insert("twice", null, now());
        await t.aggregates.insert("still-writable", null, now());
        return id;
      });
      expect(second).toBeUndefined();
      expect(await store.aggregates.idByName("still-writable")).toBeDefined();
    });

    it("a body's handle used after the body returned writes into no later transaction: the write is refused", async () => {
      const id = (await store.transaction(async (t) => t.aggregates.insert("late", null, now())))!;
      let kept!: StoreTx;
      await store.transaction(async (t) => void (kept = t));
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let written = false;
      // A later, unrelated transaction, open while the kept handle is used, and then failing.
      const other = store.transaction(async (t) => {
        await t.aggregates.setMetadata(id, { other: "1" }, [], now());
        written = true;
        await held;
        throw new Error("the other transaction fails");
      });
      await eventually("the other transaction to write", () => written);
      const late = kept.aggregates.setMetadata(id, { late: "1" }, [], now()).then(
        () => "written",
        (err: Error) => `refused: ${err.message}`,
      );
      release();
      await expect(other).rejects.toThrow("the other transaction fails");
      expect(await late).toMatch(/^refused: .*inside store.transaction/);
      expect((await store.aggregates.get(id))!.metadata).toEqual({});
    });

    it("announces an operation change only once its transaction committed", async () => {
      const id = "op-spec";
      let openWhenWoken: boolean | undefined;
      const woken = store.changes.next(id, 5_000).then(() => (openWhenWoken = opened.transactionOpen()));
      await store.transaction(async (t) => {
        await t.operations.insert({ id, kind: "ADD_HOST", aggregateId: null, host: "h", steps: [], params: {} }, now());
        await new Promise((resolve) => setImmediate(resolve)); // the transaction stays open a while after the write
      });
      await woken;
      expect(openWhenWoken).toBe(false);
    });
  });

  describe(`${name}: records`, () => {
    let store: Store;
    beforeEach(async () => {
      store = (await open()).store;
    });
    afterEach(async () => store.close());

    it("keeps metadata keys unique regardless of case (a key differing in case sets the existing one) and returns them in byte order", async () => {
      const id = (await store.transaction(async (t) => t.aggregates.insert("meta", "az1", now())))!;
      await store.transaction(async (t) => t.aggregates.setMetadata(id, { b: "2", B_upper: "3", a: "1" }, [], now()));
      expect(Object.keys((await store.aggregates.get(id))!.metadata)).toEqual(["B_upper", "a", "b"]);
      await store.transaction(async (t) => t.aggregates.setMetadata(id, { A: "one" }, ["b"], now()));
      expect((await store.aggregates.get(id))!.metadata).toEqual({ B_upper: "3", a: "one" });
    });

    it("derives the pool state from members and unfinished operations, and keeps the member order", async () => {
      const id = (await store.transaction(async (t) => t.aggregates.insert("pool", null, now())))!;
      await store.transaction(async (t) => {
        for (const h of ["h-b", "h-a", "h-c"]) await t.hosts.register(registration(h), now());
      });
      await store.transaction(async (t) => {
        for (const h of ["h-b", "h-a", "h-c"]) await t.hosts.apply(h, beginJoin(id));
        await t.operations.insert({ id: "op-1", kind: "ADD_HOST", aggregateId: id, host: "h-b", steps: [], params: {} }, now());
      });
      const changing = (await store.aggregates.get(id))!;
      expect(changing.poolState).toBe("CHANGING");
      expect(changing.members.map((m) => m.host)).toEqual(["h-b", "h-a", "h-c"]);
      const op = (await store.operations.get("op-1"))!;
      await store.transaction(async (t) => {
        for (const h of ["h-b", "h-a", "h-c"]) await t.hosts.apply(h, confirmMember());
        await t.hosts.apply("h-a", markFailed("gone"));
        await t.operations.save({ ...op, state: "SUCCEEDED", progress: 1, finishedAt: now() }, now());
      });
      const active = (await store.aggregates.get(id))!;
      expect(active.poolState).toBe("ACTIVE");
      expect(active.members).toEqual([
        { host: "h-b", state: "MEMBER" },
        { host: "h-a", state: "FAILED" },
        { host: "h-c", state: "MEMBER" },
      ]);
      expect((await store.hosts.members(id)).map((h) => [h.name, h.enabled])).toEqual([["h-b", true], ["h-a", false], ["h-c", true]]);
      expect(await store.operations.unfinished(id)).toEqual([]);
      expect((await store.operations.get("op-1"))!.progress).toBe(1);
    });

    it("reads the members of several aggregates in one call, each as members() reads them, with a pending heartbeat", async () => {
      const [one, two, none] = await store.transaction(async (t) => [await t.aggregates.insert("many-1", null, now()), await t.aggregates.insert("many-2", null, now()), await t.aggregates.insert("many-3", null, now())]);
      await store.transaction(async (t) => {
        for (const h of ["m-c", "m-a", "m-b", "m-d"]) await t.hosts.register(registration(h), now());
        for (const h of ["m-c", "m-a"]) await t.hosts.apply(h, beginJoin(one!));
        for (const h of ["m-b"]) await t.hosts.apply(h, beginJoin(two!));
      });
      expect(await store.heartbeat("m-a", { memoryTotalBytes: 64, memoryFreeBytes: 32, runningVms: 1, cpuVendor: "GenuineIntel" }, null, "2030-01-01T00:00:00.000Z")).toBe(true);
      const read = await store.hosts.membersOfAggregates([two!, one!, none!]);
      expect([...read.keys()]).toEqual([two!, one!, none!]);
      for (const id of [one!, two!, none!]) expect(read.get(id)).toEqual(await store.hosts.members(id));
      expect(read.get(one!)!.map((h) => h.name)).toEqual(["m-c", "m-a"]);
      expect(read.get(one!)![1]!.lastHeartbeatAt).toBe("2030-01-01T00:00:00.000Z");
      expect(read.get(none!)).toEqual([]);
      expect((await store.hosts.membersOfAggregates([])).size).toBe(0);
    });

    it("a page of aggregates read again after each write shows that write (rename, metadata, members, operations, delete, rollback)", async () => {
      const id = (await store.transaction(async (t) => t.aggregates.insert("paged", "az1", now())))!;
      const page = async () => (await store.aggregates.list({ afterId: 0, limit: 10 })).map((a) => [a.name, a.metadata, a.poolState, a.members.map((m) => m.host)]);
      expect(await page()).toEqual([["paged", {}, "EMPTY", []]]);
      await store.transaction(async (t) => t.aggregates.update(id, { name: "renamed" }, now()));
      expect(await page()).toEqual([["renamed", {}, "EMPTY", []]]);
      await store.transaction(async (t) => t.aggregates.setMetadata(id, { k: "v" }, [], now()));
      expect(await page()).toEqual([["renamed", { k: "v" }, "EMPTY", []]]);
      await store.transaction(async (t) => {
        await t.hosts.register(registration("h-p"), now());
        await t.hosts.apply("h-p", beginJoin(id));
        await t.operations.insert({ id: "op-p", kind: "ADD_HOST", aggregateId: id, host: "h-p", steps: [], params: {} }, now());
      });
      expect(await page()).toEqual([["renamed", { k: "v" }, "CHANGING", ["h-p"]]]);
      const op = (await store.operations.get("op-p"))!;
      await store.transaction(async (t) => {
        await t.hosts.apply("h-p", confirmMember());
        await t.operations.save({ ...op, state: "SUCCEEDED", progress: 1, finishedAt: now() }, now());
      });
      expect(await page()).toEqual([["renamed", { k: "v" }, "ACTIVE", ["h-p"]]]);
      await expect(
        store.transaction(async (t) => {
          await t.aggregates.update(id, { name: "rolled-back" }, now());
          expect((await t.aggregates.list({ afterId: 0, limit: 10 }))[0]!.name).toBe("rolled-back");
          throw new Error("roll back");
        }),
      ).rejects.toThrow("roll back");
      expect(await page()).toEqual([["renamed", { k: "v" }, "ACTIVE", ["h-p"]]]);
      const other = (await store.transaction(async (t) => t.aggregates.insert("second", null, now())))!;
      expect((await page()).map(([n]) => n)).toEqual(["renamed", "second"]);
      await store.transaction(async (t) => t.aggregates.delete(other));
      expect((await page()).map(([n]) => n)).toEqual(["renamed"]);
    });

    it("host reads see the latest heartbeat, batched; an unknown host is refused; FAILED stays FAILED", async () => {
      await store.transaction(async (t) => {
        await t.hosts.register(registration("beat"), now());
        await t.hosts.register(registration("dead"), now());
        await t.hosts.apply("dead", markFailed("fenced"));
      });
      expect(await store.heartbeat("nobody", null, null, now())).toBe(false);
      const at = "2030-01-01T00:00:00.000Z";
      const capacity = { memoryTotalBytes: 8, memoryFreeBytes: 4, runningVms: 1, cpuVendor: "GenuineIntel" };
      expect(await store.heartbeat("beat", null, null, "2029-01-01T00:00:00.000Z")).toBe(true);
      expect(await store.heartbeat("beat", capacity, facts, at)).toBe(true);
      expect(await store.heartbeat("dead", null, facts, at)).toBe(true);
      const read = (await store.hosts.get("beat"))!;
      expect(read).toMatchObject({ lastHeartbeatAt: at, capacity, uuid: "u-1", liveness: "XAPI_UNREACHABLE" });
      expect((await store.hosts.get("dead"))!.liveness).toBe("FAILED");
      // Inside a transaction too.
      await store.heartbeat("beat", null, null, "2031-01-01T00:00:00.000Z");
      expect(await store.transaction(async (t) => (await t.hosts.get("beat"))!.lastHeartbeatAt)).toBe("2031-01-01T00:00:00.000Z");
      expect(await store.hosts.silentSince("2031-06-01T00:00:00.000Z")).toEqual(["beat"]);
    });

    it("a registration written after a pending heartbeat wins over it (the beat is older than the record's last report)", async () => {
      await store.transaction(async (t) => t.hosts.register(registration("late"), "2030-01-01T00:00:00.000Z"));
      const capacity = (free: number) => ({ memoryTotalBytes: 8, memoryFreeBytes: free, runningVms: 0, cpuVendor: "GenuineIntel" });
      expect(await store.heartbeat("late", capacity(1), null, "2030-01-02T00:00:00.000Z")).toBe(true);
      await store.transaction(async (t) => t.hosts.register({ ...registration("late"), capacity: capacity(2) }, "2030-01-02T00:00:01.000Z"));
      const expected = { capacity: capacity(2), lastHeartbeatAt: "2030-01-02T00:00:01.000Z" };
      expect(await store.hosts.get("late")).toMatchObject(expected);
      expect(await store.transaction(async (t) => t.hosts.get("late"))).toMatchObject(expected);
      expect((await store.hosts.list({ afterName: "", limit: 10 }))[0]).toMatchObject(expected);
    });

    it("a pending heartbeat survives a failing transaction that read a host", async () => {
      await store.transaction(async (t) => {
        await t.hosts.register(registration("kept"), now());
        await t.hosts.register(registration("read"), now());
      });
      const capacity = { memoryTotalBytes: 8, memoryFreeBytes: 7, runningVms: 0, cpuVendor: "GenuineIntel" };
      expect(await store.heartbeat("kept", capacity, null, now())).toBe(true);
      // A refused AddHost reads its host and throws.
      await expect(
        store.transaction(async (t) => {
          await t.hosts.get("read");
          throw new Error("refused");
        }),
      ).rejects.toThrow("refused");
      expect((await store.hosts.get("kept"))!.capacity).toEqual(capacity);
      await store.transaction(async (t) => t.hosts.get("read"));
      expect((await store.hosts.get("kept"))!.capacity).toEqual(capacity);
    });

    it("a heartbeat pending from while the host was FAILED does not decide its liveness once it is fenced", async () => {
      await store.transaction(async (t) => {
        await t.hosts.register(registration("fenced"), now());
        await t.hosts.apply("fenced", markFailed("master failed"));
      });
      // Its agent reports XAPI unreachable while the host is FAILED: it stays FAILED.
      expect(await store.heartbeat("fenced", null, facts, now())).toBe(true);
      expect((await store.hosts.get("fenced"))!.liveness).toBe("FAILED");
      // The fence, later, records it ALIVE (watchers/fencing.ts).
      await store.transaction(async (t) => t.hosts.apply("fenced", fenced("repointed")));
      expect((await store.hosts.get("fenced"))!.liveness).toBe("ALIVE");
      expect((await store.transaction(async (t) => t.hosts.get("fenced")))!.liveness).toBe("ALIVE");
      // The next report decides it again.
      expect(await store.heartbeat("fenced", null, facts, now())).toBe(true);
      expect((await store.hosts.get("fenced"))!.liveness).toBe("XAPI_UNREACHABLE");
    });

    it("heartbeats pending together leave the record as written one after the other (what the newer leaves out, the older gives)", async () => {
      const capacity = (free: number) => ({ memoryTotalBytes: 8, memoryFreeBytes: free, runningVms: 0, cpuVendor: "GenuineIntel" });
      await store.transaction(async (t) => t.hosts.register({ ...registration("twice"), capacity: capacity(1) }, "2030-01-01T00:00:00.000Z"));
      expect(await store.heartbeat("twice", capacity(9), facts, "2030-01-01T00:00:01.000Z")).toBe(true);
      expect(await store.heartbeat("twice", null, { ...facts, xapiReachable: true }, "2030-01-01T00:00:02.000Z")).toBe(true);
      const expected = { capacity: capacity(9), liveness: "ALIVE", lastHeartbeatAt: "2030-01-01T00:00:02.000Z" };
      expect(await store.hosts.get("twice")).toMatchObject(expected);
      // Inside a transaction (PostgreSQL: once written) the same.
      expect(await store.transaction(async (t) => t.hosts.get("twice"))).toMatchObject(expected);
    });

    it("pages hosts by name in byte order, events newest first, and operations by filter", async () => {
      await store.transaction(async (t) => {
        for (const h of ["b", "B", "a", "_x"]) await t.hosts.register(registration(h), now());
        for (const k of ["one", "two", "three"]) await t.events.append({ kind: k, message: k });
        await t.operations.insert({ id: "o1", kind: "ADD_HOST", aggregateId: null, host: "a", steps: [], params: {} }, now());
        await t.operations.insert({ id: "o2", kind: "ADD_HOST", aggregateId: null, host: "b", steps: [], params: {} }, now());
      });
      expect((await store.hosts.list({ afterName: "", limit: 10 })).map((h) => h.name)).toEqual(["B", "_x", "a", "b"]);
      expect((await store.hosts.list({ afterName: "_x", limit: 1 })).map((h) => h.name)).toEqual(["a"]);
      expect((await store.events.list({ beforeId: Number.MAX_SAFE_INTEGER, limit: 2 })).map((e) => e.kind)).toEqual(["three", "two"]);
      expect((await store.events.since(1)).map((e) => e.kind)).toEqual(["two", "three"]);
      expect(await store.events.lastId()).toBe(3);
      expect((await store.operations.list({ host: "b", beforeSeq: Number.MAX_SAFE_INTEGER, limit: 10 })).map((o) => o.id)).toEqual(["o2"]);
      expect((await store.operations.list({ beforeSeq: Number.MAX_SAFE_INTEGER, limit: 10 })).map((o) => o.id)).toEqual(["o2", "o1"]);
      // An id no row can have (a client's int64 beyond 2^53) is simply not there.
      expect(await store.aggregates.get(2 ** 63)).toBeUndefined();
      expect(await store.hosts.list({ aggregateId: 2 ** 63, afterName: "", limit: 10 })).toEqual([]);
    });

    it("records, finds and forgets where VMs came from", async () => {
      const origin = { vmUuid: "vm-1", vmName: "web", originHost: "h1", movedTo: "h2", operationId: "o", movedAt: now() };
      await store.transaction(async (t) => {
        await t.vmOrigins.record(origin);
        await t.vmOrigins.record({ ...origin, vmUuid: "vm-2", vmName: "db" });
      });
      expect((await store.vmOrigins.fromHost("h1")).map((o) => o.vmName)).toEqual(["db", "web"]);
      expect([...(await store.vmOrigins.byVm(["vm-1", "vm-9"])).keys()]).toEqual(["vm-1"]);
      await store.transaction(async (t) => t.vmOrigins.forget("vm-1"));
      expect(await store.vmOrigins.byVm(["vm-1"])).toEqual(new Map());
      await store.probe();
    });
  });

  describe(`${name}: leases`, () => {
    let store: Store;
    let id: number;
    beforeEach(async () => {
      store = (await open()).store;
      id = (await store.transaction(async (t) => t.aggregates.insert("leased", null, now())))!;
    });
    afterEach(async () => store.close());

    it("one holder at a time; a renewal keeps the epoch; a lapsed lease goes to another with the next epoch", async () => {
      const a = (await store.leases.acquire(id, "replica-a", 60_000))!;
      expect(a).toMatchObject({ aggregateId: id, holder: "replica-a", epoch: 1 });
      expect(await store.leases.acquire(id, "replica-b", 60_000)).toBeUndefined();
      const renewed = (await store.leases.acquire(id, "replica-a", 120_000))!;
      expect(renewed.epoch).toBe(1);
      expect(Date.parse(renewed.expiresAt)).toBeGreaterThan(Date.parse(a.expiresAt));
      await store.leases.acquire(id, "replica-a", 100);
      // The lapse is decided on the database's clock.
      const b = await eventually("the lease to lapse", () => store.leases.acquire(id, "replica-b", 60_000), 5_000);
      expect(b).toMatchObject({ holder: "replica-b", epoch: 2 });
      expect(await store.leases.current(id)).toEqual(b);
      expect(await store.leases.acquire(id, "replica-a", 60_000)).toBeUndefined();
      expect(await store.transaction(async (t) => t.leases.holds(a))).toBe(false);
      expect(await store.transaction(async (t) => t.leases.holds(b))).toBe(true);
      await store.leases.release(a); // stale: changes nothing
      expect((await store.leases.current(id))?.holder).toBe("replica-b");
      await store.leases.release(b);
      expect(await store.leases.current(id)).toBeUndefined();
      expect(await store.transaction(async (t) => t.leases.holds(b))).toBe(false);
      expect(await store.leases.acquire(id, "replica-b", 60_000)).toMatchObject({ holder: "replica-b", epoch: 3 });
    });

    it("acquire and release refuse to run inside a transaction, holds outside one; a lease goes with its aggregate", async () => {
      await expect(store.transaction(async (t) => t.leases.acquire(id, "replica-a", 60_000))).rejects.toThrow(/outside store transactions/);
      await expect(store.leases.holds({ aggregateId: id, holder: "replica-a", epoch: 1 })).rejects.toThrow(/inside store.transaction/);
      await store.leases.acquire(id, "replica-a", 60_000);
      await store.transaction(async (t) => t.aggregates.delete(id));
      expect(await store.leases.current(id)).toBeUndefined();
    });

    it("renew extends in one statement only the listed leases the holder still has; currentBetween lists the running ones of a range; lapseAll frees every lease; id 0 is the fleet lease", async () => {
      const other = (await store.transaction(async (t) => t.aggregates.insert("other", null, now())))!;
      const fleet = (await store.leases.acquire(0, "replica-a", 60_000))!;
      expect(fleet).toMatchObject({ aggregateId: 0, epoch: 1 });
      const a = (await store.leases.acquire(id, "replica-a", 100))!;
      await store.leases.acquire(other, "replica-b", 60_000);
      const renewed = await store.leases.renew("replica-a", [0, id, other], 60_000);
      expect(renewed.map((l) => [l.aggregateId, l.holder, l.epoch]).sort()).toEqual([
        [0, "replica-a", 1],
        [id, "replica-a", a.epoch],
      ]);
      expect(Date.parse((await store.leases.current(id))!.expiresAt)).toBeGreaterThan(Date.now() + 30_000);
      const running = (first: number, last: number) => store.leases.currentBetween(first, last).then((ls) => ls.map((l) => [l.aggregateId, l.holder]).sort());
      expect(await running(Math.min(id, other), Math.max(id, other))).toEqual([[id, "replica-a"], [other, "replica-b"]].sort());
      expect(await running(other, other)).toEqual([[other, "replica-b"]]);
      await store.leases.acquire(id, "replica-a", 1);
      await eventually("the lease to lapse", async () => (await store.leases.current(id)) === undefined, 5_000);
      expect(await store.leases.renew("replica-a", [id], 60_000)).toEqual([]); // lapsed: lost, never revived
      expect(await running(id, id)).toEqual([]);
      await store.leases.lapseAll();
      expect(await store.leases.current(0)).toBeUndefined();
      expect(await store.leases.current(other)).toBeUndefined();
      expect(await store.leases.acquire(other, "replica-a", 60_000)).toMatchObject({ holder: "replica-a", epoch: 2 });
    });
  });
}
