/**
 * The periodic passes (reconciler, master-failure detector) read only the aggregates that have
 * hosts: with 5,000 empty aggregates beside two with hosts, a pass reads the two and none of the
 * others (counted on every aggregate record the store hands them).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IntakeContext } from "../../controller/context.js";
import { nowIso } from "../../controller/model/records.js";
import type { Store } from "../../controller/store/store.js";
import { MasterFailureDetector, masterFailureSettings } from "../../controller/watchers/master-failure-detector.js";
import { Reconciler } from "../../controller/watchers/reconciler.js";
import { hostRegistration, putHostInAggregate, startTestController, type TestController } from "../support/controller-harness.js";

/** The store, with every aggregate record its aggregate methods return noted by id. */
function countingStore(store: Store, seen: Set<number>): Store {
  const note = (value: unknown) => {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item && typeof item === "object" && "id" in item && typeof item.id === "number") seen.add(item.id);
    }
  };
  const aggregates = new Proxy(store.aggregates, {
    get(target, key) {
      const member = Reflect.get(target, key) as unknown;
      if (typeof member !== "function") return member;
      return async (...args: unknown[]) => {
        const result: unknown = await member.apply(target, args);
        note(result);
        return result;
      };
    },
  });
  return new Proxy(store, {
    get(target, key) {
      if (key === "aggregates") return aggregates;
      const member = Reflect.get(target, key) as unknown;
      return typeof member === "function" ? member.bind(target) : member;
    },
  });
}

let h: TestController;
let ctx: IntakeContext;
const withHosts: number[] = [];
const emptyCount = 5_000;

beforeAll(async () => {
  h = await startTestController({ masterCheckIntervalMs: 0 });
  ctx = h.controller.context;
  const { store } = ctx;
  // Test setup only: the aggregates are written straight into the store (5,000 API calls would only slow the test).
  await store.transaction(async (tx) => {
    for (let i = 0; i < emptyCount / 2; i++) await tx.aggregates.insert(`empty-a-${i}`, null, nowIso());
  });
  for (const name of ["pass-1", "pass-2"]) {
    const a = await h.aggregates.createAggregate({ name });
    await h.registry.registerHost(hostRegistration(`${name}-host`));
    await putHostInAggregate(h, `${name}-host`, a.id);
    await store.transaction(async (tx) => tx.aggregates.updatePool(Number(a.id), { masterHost: `${name}-host` }, nowIso()));
    withHosts.push(Number(a.id));
  }
  await store.transaction(async (tx) => {
    for (let i = 0; i < emptyCount / 2; i++) await tx.aggregates.insert(`empty-b-${i}`, null, nowIso());
  });
}, 60_000);
afterAll(async () => {
  await h?.close();
});

describe("periodic passes over 5,000 empty aggregates and 2 with hosts", () => {
  it("the reconciler reads only the two with hosts, and checks both", async () => {
    const seen = new Set<number>();
    const reconciler = new Reconciler({ ...ctx, store: countingStore(ctx.store, seen) }, { intervalMs: 0, heartbeatIntervalMs: ctx.heartbeatIntervalMs });
    try {
      await reconciler.tick();
    } finally {
      await reconciler.close();
    }
    expect([...seen].sort((a, b) => a - b)).toEqual(withHosts);
    for (const id of withHosts) expect((await ctx.store.aggregates.get(id))?.checkedAt).not.toBeNull();
  });

  it("the master-failure detector reads only the two with hosts", async () => {
    const seen = new Set<number>();
    const detector = new MasterFailureDetector({ ...ctx, store: countingStore(ctx.store, seen) }, masterFailureSettings(ctx.heartbeatIntervalMs, { intervalMs: 0 }));
    try {
      await detector.tick();
    } finally {
      await detector.close();
    }
    expect([...seen].sort((a, b) => a - b)).toEqual(withHosts);
  });
});
