/**
 * Controller replicas under per-aggregate leases (issue 14), in-process on a real PostgreSQL with
 * the simulator and real agents: two replicas on one database, operations accepted on both, run by
 * the lease holder alone (the agents' logs name the replica of every change they accept); a holder
 * that loses its lease in the middle of a hung pool.join stops at once (the step stays RUNNING, it
 * writes no journal entry and makes no agent call after), and the new holder resumes the operation
 * to SUCCEEDED; a watcher pass acts only on the holder. Then, on SQLite, a controller SIGKILLed
 * mid-operation takes its leases over at once after a restart (no wait for the TTL).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { connect } from "../../cli/api-clients.js";
import { OperationState, StepState, type Operation } from "../../gen/hostaggregates/v1/operation_pb.js";
import type { Controller } from "../../controller/server.js";
import type { OperationRecord } from "../../controller/model/records.js";
import { formatHostPort } from "../../shared/address.js";
import { createLogger } from "../../shared/logging.js";
import { eventually } from "../support/eventually.js";
import { describeOnPostgres, startPostgres, type PostgresCluster } from "../support/postgres.js";
import { startProduct, waitForOperation, type AdminClients, type Product } from "./product-harness.js";

/** A change an agent accepted, and the replica it came from. */
interface AcceptedChange {
  host: string;
  call: string;
  replica: string;
  at: number;
}

/** The simulator's pool of a master, with its members sorted. */
function simulatedPool(p: Product, master: string) {
  const pool = p.sim.control.state().pools.find((pl) => pl.master === master && pl.hosts.includes(master));
  return pool && { name: pool.name, members: [...pool.hosts].sort() };
}

describeOnPostgres("controller replicas on one PostgreSQL database", () => {
  let cluster: PostgresCluster;
  let p: Product;
  let a: Controller;
  let b: Controller;
  let db: pg.Client;
  const apis = new Map<string, AdminClients>();
  const accepted: AcceptedChange[] = [];

  beforeAll(async () => {
    cluster = await startPostgres();
    const url = await cluster.createDatabase();
    p = await startProduct({
      hosts: 5,
      baseAddress: "127.0.23.10",
      db: url,
      replicaId: "replica-a",
      leaseTtlMs: 2000,
      agentOptions: (host) => ({
        log: createLogger("agent", {
          level: "info",
          sink: (line) => {
            const r = JSON.parse(line) as { msg: string; call?: string; replica?: string };
            if (r.msg === "accepted a change") accepted.push({ host, call: r.call!, replica: r.replica!, at: Date.now() });
          },
        }),
      }),
    });
    a = p.controller!;
    b = await p.startReplica("replica-b");
    apis.set("replica-a", p.api);
    apis.set("replica-b", connect({ endpoint: formatHostPort(b.grpcAddress), token: p.adminToken }));
    db = new pg.Client({ connectionString: url });
    await db.connect();
  }, 90_000);
  afterAll(async () => {
    await db?.end();
    await p?.close();
    await cluster?.stop();
  });

  const replica = (id: string) => (id === "replica-a" ? a : b);
  const api = (id: string) => apis.get(id)!;
  const holderOf = async (aggregateId: bigint) => (await a.context.store.leases.current(Number(aggregateId)))?.holder;

  it("two replicas, operations accepted on both for one aggregate: the lease holder runs all of them, the other none", async () => {
    const agg = await p.api.aggregates.createAggregate({ name: "raced" });
    const since = Date.now();
    // Accepted on both replicas at once: the aggregate's lease decides who runs them.
    const ops = await Promise.all([
      api("replica-a").aggregates.addHost({ aggregateId: agg.id, host: "xs1" }),
      api("replica-b").aggregates.addHost({ aggregateId: agg.id, host: "xs2" }),
      api("replica-a").aggregates.addHost({ aggregateId: agg.id, host: "xs3" }),
    ]);
    const done: Operation[] = [];
    for (const op of ops) done.push(await waitForOperation(p.api, op.id, 60_000));
    for (const op of done) expect(op.state, op.error?.message).toBe(OperationState.SUCCEEDED);
    const holder = (await holderOf(agg.id))!;
    expect(["replica-a", "replica-b"]).toContain(holder);
    const changes = accepted.filter((c) => c.at >= since && ["xs1", "xs2", "xs3"].includes(c.host));
    expect(changes.length).toBeGreaterThan(0);
    expect(new Set(changes.map((c) => c.replica))).toEqual(new Set([holder]));
    expect(simulatedPool(p, "xs1")).toEqual({ name: "raced", members: ["xs1", "xs2", "xs3"] });
    // Both replicas show who holds the aggregate's lease.
    for (const id of ["replica-a", "replica-b"]) expect((await api(id).aggregates.getAggregate({ id: agg.id })).leaseHolder).toBe(holder);
  }, 90_000);

  it("a watcher acts only on the lease holder: the reconciler's pass records a check on the holder, none on the other", async () => {
    const id = Number((await p.api.aggregates.listAggregates({})).aggregates.find((x) => x.name === "raced")!.id);
    const holder = (await holderOf(BigInt(id)))!;
    const other = holder === "replica-a" ? "replica-b" : "replica-a";
    const checkedAt = async () => (await a.context.store.aggregates.get(id))!.checkedAt;
    const before = await checkedAt();
    await replica(other).reconciler.tick();
    expect(await checkedAt()).toBe(before);
    await replica(holder).reconciler.tick();
    expect(await checkedAt()).not.toBe(before);
  });

  it("an agent call made outside any operation (an intake's SetHostEnabled) names the replica that made it", async () => {
    const id = (await p.api.aggregates.listAggregates({})).aggregates.find((x) => x.name === "raced")!.id;
    const holder = (await holderOf(id))!;
    const other = holder === "replica-a" ? "replica-b" : "replica-a";
    const since = Date.now();
    await api(other).hosts.setHostEnabled({ name: "xs3", enabled: false });
    await api(holder).hosts.setHostEnabled({ name: "xs3", enabled: true });
    const calls = accepted.filter((c) => c.at >= since && c.call === "SetHostEnabled").map((c) => c.replica);
    expect(calls).toEqual([other, holder]);
  });

  it("the holder loses its lease in a hung pool.join: the step stays RUNNING, it writes and calls nothing more, the new holder resumes and the op SUCCEEDS", async () => {
    const agg = await p.api.aggregates.createAggregate({ name: "taken-over" });
    await p.addHost(agg.id, "xs4");
    const aggregateId = Number(agg.id);
    const oldId = (await holderOf(agg.id))!;
    const newId = oldId === "replica-a" ? "replica-b" : "replica-a";
    const old = replica(oldId);
    p.sim.control.setFault("xs5", { method: "pool.join", hang: true });
    const { id } = await api(newId).aggregates.addHost({ aggregateId: agg.id, host: "xs5" });
    const joinRunning = (op: Operation) => op.steps.find((s) => s.name === "join-pool")?.state === StepState.RUNNING;
    const hung = await eventually("pool.join to hang on xs5", async () => {
      const op = await p.api.operations.getOperation({ id });
      return joinRunning(op) && p.sim.control.state().hosts.find((h) => h.name === "xs5")!.faults === 0 && op;
    }, 20_000);
    expect(hung.leaseHolder).toBe(oldId);

    // Every journal write and event the old holder attempts from now on is noted (a fenced transaction refuses before either).
    const late: string[] = [];
    const store = old.context.store;
    const save = store.operations.save.bind(store.operations);
    const append = store.events.append.bind(store.events);
    Object.assign(store.operations, { save: (op: OperationRecord, now: string) => (op.id === id && late.push(`save ${op.state}`), save(op, now)) });
    Object.assign(store.events, { append: (e: Parameters<typeof append>[0]) => (e.operationId === id && late.push(`event ${e.kind}`), append(e)) });
    try {
      // Taken away in the database: another holder's lease, epoch + 1.
      const takenAt = Date.now();
      await db.query("UPDATE aggregate_leases SET holder = 'intruder', epoch = epoch + 1, expires_at_ms = (extract(epoch FROM clock_timestamp()) * 1000)::bigint + 60000 WHERE aggregate_id = $1", [aggregateId]);
      await eventually("the old holder to notice", () => old.leases.held(aggregateId) === undefined, 5_000);
      await old.engine.idle();
      // Interrupted, never DONE: the journal still says the join runs.
      const interrupted = (await store.operations.get(id))!;
      expect(interrupted.state).toBe("RUNNING");
      expect(interrupted.steps.find((s) => s.name === "join-pool")?.state).toBe("RUNNING");

      // The new holder gets it and resumes from the journal.
      await db.query("UPDATE aggregate_leases SET holder = $2, epoch = epoch + 1 WHERE aggregate_id = $1", [aggregateId, newId]);
      const done = await waitForOperation(p.api, id, 60_000);
      expect(done.state, done.error?.message).toBe(OperationState.SUCCEEDED);
      expect(done.steps.map((s) => StepState[s.state])).toEqual(done.steps.map(() => "DONE"));
      expect(late).toEqual([]);
      const after = accepted.filter((c) => c.at > takenAt && (c.host === "xs4" || c.host === "xs5"));
      expect(after.filter((c) => c.replica === oldId)).toEqual([]);
      expect(after.some((c) => c.replica === newId && c.call === "JoinPool")).toBe(true);
      expect(simulatedPool(p, "xs4")).toEqual({ name: "taken-over", members: ["xs4", "xs5"] });
      const record = await p.api.aggregates.getAggregate({ id: agg.id });
      expect(record.hosts).toEqual(["xs4", "xs5"]);
      expect(record.leaseHolder).toBe(newId);
    } finally {
      Object.assign(store.operations, { save });
      Object.assign(store.events, { append });
    }
  }, 90_000);
});

describe("a controller on SQLite", () => {
  let p: Product;
  beforeAll(async () => {
    // A TTL far longer than the test may take: a restart that waited for it would time out.
    p = await startProduct({ hosts: 2, baseAddress: "127.0.23.110", controllerProcess: true, controllerArgs: ["--lease-ttl", "120"] });
  }, 60_000);
  afterAll(async () => p?.close());

  it("SIGKILLed in the middle of an AddHost, takes its leases over at once after a restart (the lock file proves the old one dead)", async () => {
    const cp = p.controllerProcess!;
    const agg = await p.api.aggregates.createAggregate({ name: "sqlite-leases" });
    await p.addHost(agg.id, "xs1");
    await cp.kill("SIGTERM");
    await cp.start({ AGGREGATES_TEST_CRASH: "ADD_HOST:during:2" });
    const id = (await p.api.aggregates.addHost({ aggregateId: agg.id, host: "xs2" })).id;
    await cp.exited();
    expect(cp.child!.signalCode).toBe("SIGKILL");
    // Another replica id than the killed process's, so its leases are not simply renewed as its own.
    await cp.start({}, ["--replica-id", "after-the-crash"]);
    const op = await waitForOperation(p.api, id, 20_000);
    expect(op.state, op.error?.message).toBe(OperationState.SUCCEEDED);
    expect(simulatedPool(p, "xs1")).toEqual({ name: "sqlite-leases", members: ["xs1", "xs2"] });
  }, 60_000);
});
