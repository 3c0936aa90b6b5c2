/**
 * The real controller on PostgreSQL (issue 14, first part), end to end with the simulator and real
 * agents: the API's aggregate life cycle and an AddHost/RemoveHost that change the simulated pool;
 * then the daemon selected by --db postgres://…, SIGKILLed in the middle of an AddHost and
 * restarted, resuming from the journal in the database.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { PoolState } from "../../gen/hostaggregates/v1/aggregate_pb.js";
import { OperationState, StepState } from "../../gen/hostaggregates/v1/operation_pb.js";
import { describeOnPostgres, startPostgres, type PostgresCluster } from "../support/postgres.js";
import { expectRpcError } from "../support/rpc-errors.js";
import { ControllerProcess, startProduct, type Product } from "./product-harness.js";
import { cutOffCommit } from "../support/commit-cutoff.js";

/** The simulator's pool of a master, with its members sorted. */
function simulatedPool(p: Product, master: string) {
  const pool = p.sim.control.state().pools.find((pl) => pl.master === master && pl.hosts.includes(master));
  return pool && { name: pool.name, members: [...pool.hosts].sort() };
}

describeOnPostgres("the controller on PostgreSQL", () => {
  let cluster: PostgresCluster;
  beforeAll(async () => {
    cluster = await startPostgres();
  }, 60_000);
  afterAll(async () => cluster?.stop());

  describe("in-process", () => {
    let p: Product;
    beforeAll(async () => {
      p = await startProduct({ hosts: 3, baseAddress: "127.0.9.10", db: await cluster.createDatabase() });
    }, 60_000);
    afterAll(async () => p?.close());

    it("creates, lists, renames, tags and deletes aggregates; a taken name is ALREADY_EXISTS", async () => {
      const a = await p.api.aggregates.createAggregate({ name: "pg-one", availabilityZone: "az1" });
      const b = await p.api.aggregates.createAggregate({ name: "pg-two" });
      await expectRpcError(p.api.aggregates.createAggregate({ name: "pg-one" }), Code.AlreadyExists);
      await p.api.aggregates.updateAggregate({ id: b.id, name: "pg-renamed" });
      await p.api.aggregates.setAggregateMetadata({ id: a.id, metadata: { owner: "ops", tier: "gold" } });
      await expectRpcError(p.api.aggregates.setAggregateMetadata({ id: a.id, metadata: { OWNER: "x" } }), Code.AlreadyExists);
      const listed = await p.api.aggregates.listAggregates({});
      expect(listed.aggregates.map((x) => [x.name, x.availabilityZone])).toEqual([
        ["pg-one", "az1"],
        ["pg-renamed", ""],
      ]);
      expect((await p.api.aggregates.getAggregate({ id: a.id })).metadata).toEqual({ owner: "ops", tier: "gold" });
      await p.api.aggregates.deleteAggregate({ id: b.id });
      await expectRpcError(p.api.aggregates.getAggregate({ id: b.id }), Code.NotFound);
      await expectRpcError(p.api.aggregates.getAggregate({ id: 1n << 40n }), Code.NotFound);
      await expectRpcError(p.api.aggregates.getAggregate({ id: 1n << 62n }), Code.InvalidArgument);
      const events = await p.api.events.listEvents({});
      expect(events.events.length).toBeGreaterThan(0);
    });

    it("AddHost twice builds the simulated pool and the record matches it; RemoveHost ejects a slave", async () => {
      const agg = await p.api.aggregates.createAggregate({ name: "pg-pool" });
      await p.addHost(agg.id, "xs1");
      await p.addHost(agg.id, "xs2");
      expect(simulatedPool(p, "xs1")).toEqual({ name: "pg-pool", members: ["xs1", "xs2"] });
      const record = await p.api.aggregates.getAggregate({ id: agg.id });
      expect(record.hosts).toEqual(["xs1", "xs2"]);
      expect(record.pool).toMatchObject({ state: PoolState.ACTIVE, masterHost: "xs1" });
      // Heartbeats reach host reads (batched writes, flushed before the read).
      const beatOf = async () => {
        const at = (await p.api.hosts.getHost({ name: "xs2" })).lastHeartbeatAt!;
        return at.seconds * 1_000_000_000n + BigInt(at.nanos);
      };
      const before = await beatOf();
      await p.waitFor(async () => (await beatOf()) > before, 10_000, "a newer heartbeat of xs2");
      await p.api.hosts.setHostEnabled({ name: "xs2", enabled: false });
      const op = await p.api.aggregates.removeHost({ aggregateId: agg.id, host: "xs2" });
      const done = await p.waitOperation(op.id);
      expect(done.state, done.error?.message).toBe(OperationState.SUCCEEDED);
      expect(simulatedPool(p, "xs1")?.members).toEqual(["xs1"]);
      expect((await p.api.aggregates.getAggregate({ id: agg.id })).hosts).toEqual(["xs1"]);
    });
  });

  describe("PostgreSQL restarted", () => {
    let p: Product;
    beforeAll(async () => {
      p = await startProduct({ hosts: 2, baseAddress: "127.0.9.110", db: await cluster.createDatabase() });
    }, 60_000);
    afterAll(async () => p?.close());

    it("in the middle of an AddHost: the operation still ends SUCCEEDED and the record matches the pool", async () => {
      const agg = await p.api.aggregates.createAggregate({ name: "pg-restart" });
      await p.addHost(agg.id, "xs1");
      const op = await p.api.aggregates.addHost({ aggregateId: agg.id, host: "xs2" });
      await cluster.restart();
      const done = await p.waitOperation(op.id, 60_000);
      expect(done.state, done.error?.message).toBe(OperationState.SUCCEEDED);
      expect(simulatedPool(p, "xs1")).toEqual({ name: "pg-restart", members: ["xs1", "xs2"] });
      const record = await p.api.aggregates.getAggregate({ id: agg.id });
      expect(record.hosts).toEqual(["xs1", "xs2"]);
      expect(record.pool?.state).toBe(PoolState.ACTIVE);
      // Intake works again.
      await p.api.aggregates.updateAggregate({ id: agg.id, name: "pg-restarted" });
      expect((await p.api.aggregates.getAggregate({ id: agg.id })).name).toBe("pg-restarted");
    });
  });

  describe("a journal COMMIT cut off", () => {
    let p: Product;
    let url: string;
    beforeAll(async () => {
      url = await cluster.createDatabase();
      p = await startProduct({ hosts: 2, baseAddress: "127.0.9.190", db: url });
    }, 60_000);
    afterAll(async () => p?.close());

    it("an AddHost whose journal write lost its connection during COMMIT is interrupted, not failed: it resumes from the journal and SUCCEEDS", async () => {
      const agg = await p.api.aggregates.createAggregate({ name: "pg-cut" });
      await p.addHost(agg.id, "xs1");
      // The next COMMIT that updates an operation (a journal write of the AddHost below, not its intake) loses its connection.
      const cut = await cutOffCommit(url, "operations", "UPDATE");
      const op = await p.api.aggregates.addHost({ aggregateId: agg.id, host: "xs2" });
      await cut.done;
      const done = await p.waitOperation(op.id, 60_000);
      expect(done.state, done.error?.message).toBe(OperationState.SUCCEEDED);
      expect(done.steps.every((s) => s.state === StepState.DONE || s.state === StepState.SKIPPED)).toBe(true);
      expect(simulatedPool(p, "xs1")).toEqual({ name: "pg-cut", members: ["xs1", "xs2"] });
      const record = await p.api.aggregates.getAggregate({ id: agg.id });
      expect(record.hosts).toEqual(["xs1", "xs2"]);
      expect(record.pool?.state).toBe(PoolState.ACTIVE);
    });
  });

  describe("the daemon with --db postgres://…", () => {
    let p: Product;
    let url: string;
    beforeAll(async () => {
      // A password in the URL (the test cluster trusts loopback and ignores it): it must never be printed.
      url = (await cluster.createDatabase()).replace("postgres://aggregates@", "postgres://aggregates:not-for-logs@");
      p = await startProduct({ hosts: 2, baseAddress: "127.0.9.60", controllerProcess: true, db: url });
    }, 60_000);
    afterAll(async () => p?.close());

    it("prints the database without its password", () => {
      const cp = p.controllerProcess!;
      expect(cp.output).toContain(`database: ${url.replace("not-for-logs", "***")}`);
      expect(cp.output).not.toContain("not-for-logs");
    });

    it("a second controller with the same replica id is refused, naming the holder", async () => {
      const replicaId = /replica id: (\S+)/.exec(p.controllerProcess!.output)![1]!;
      const second = new ControllerProcess(url, { AGGREGATES_ADMIN_TOKEN: p.adminToken, AGGREGATES_AGENT_TOKEN: p.agentToken }, ["--replica-id", replicaId]);
      await expect(second.start()).rejects.toThrow(/in use by another controller with replica id "[^"]+" \(server process \d+ from 127\.0\.0\.1\)/);
      expect(second.output).not.toContain("not-for-logs");
    });

    it("an AddHost survives a SIGKILL in the middle of its join step and finishes after a restart", async () => {
      const cp = p.controllerProcess!;
      const agg = await p.api.aggregates.createAggregate({ name: "pg-crash" });
      await p.addHost(agg.id, "xs1");
      await cp.kill("SIGTERM");
      await cp.start({ AGGREGATES_TEST_CRASH: "ADD_HOST:during:1" });
      const id = (await p.api.aggregates.addHost({ aggregateId: agg.id, host: "xs2" })).id;
      await cp.exited();
      expect(cp.child!.signalCode, cp.output.slice(-2000)).toBe("SIGKILL");
      await cp.start();
      const op = await p.waitOperation(id, 60_000);
      expect(op.state, op.error?.message).toBe(OperationState.SUCCEEDED);
      expect(simulatedPool(p, "xs1")).toEqual({ name: "pg-crash", members: ["xs1", "xs2"] });
      const record = await p.api.aggregates.getAggregate({ id: agg.id });
      expect(record.hosts).toEqual(["xs1", "xs2"]);
      expect(record.pool?.state).toBe(PoolState.ACTIVE);
    });
  });
});
