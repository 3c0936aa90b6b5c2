/**
 * /metrics end to end (docs/metrics.md): the controller and every agent scraped after real
 * operations on the simulator, parsed with a real parser, with concrete values — operations and
 * steps counted by the runner, pool.join timed on the joining host's agent, pool state, liveness
 * and heartbeat age read from the store, migrations in flight and bytes moved during an
 * evacuation, and a master-failure episode with its automatic recovery.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OperationKind, OperationState } from "../../gen/hostaggregates/v1/operation_pb.js";
import { scrape, type Scrape } from "../support/metrics-scrape.js";
import { startProduct, type Product } from "./product-harness.js";

const p = "hostaggregates_";
const a = `${p}agent_`;
const hosts = ["xs1", "xs2", "xs3"];

describe("metrics of the controller and the agents", () => {
  let product: Product;
  let aggregateId: bigint;
  const controller = () => scrape(product.controllerMetricsUrl!, product.metricsToken);
  const agent = (host: string) => scrape(product.agentMetricsUrl(host));
  const delta = (after: Scrape, before: Scrape, name: string, labels: Record<string, string> = {}) => after.value(name, labels) - before.value(name, labels);

  beforeAll(async () => {
    product = await startProduct({
      hosts: 3,
      baseAddress: "127.0.3.10",
      metrics: true,
      // Slow links so migrations can be seen in flight; slaves give up on a dead master quickly.
      simulator: { linkBandwidthMiBps: 20, masterLostGraceMs: 10_000, emergencyRetryMs: 10_000 },
    });
  }, 60_000);
  afterAll(async () => product?.close());

  it("counts each AddHost and its steps; the joining host's agent times pool.join", async () => {
    const before = await controller();
    aggregateId = (await product.api.aggregates.createAggregate({ name: "metrics-pool" })).id;
    await product.addHost(aggregateId, "xs1");
    const first = await controller();
    const added = { kind: "ADD_HOST", result: "SUCCEEDED" };
    expect(delta(first, before, `${p}operations_total`, added)).toBe(1);
    await product.addHost(aggregateId, "xs2");
    await product.addHost(aggregateId, "xs3");
    const after = await controller();
    expect(delta(after, first, `${p}operations_total`, added)).toBe(2);
    expect(delta(after, before, `${p}operations_total`, { kind: "ADD_HOST", result: "FAILED" })).toBe(0);

    const steps = `${p}operation_step_duration_seconds`;
    const count = (step: string) => after.histogram(steps, { kind: "ADD_HOST", step, state: "DONE" }).count;
    expect([count("init-pool"), count("join-pool"), count("confirm-membership"), count("enable-host")]).toEqual([1, 2, 3, 3]);
    expect(after.histogram(steps, { kind: "ADD_HOST", step: "join-pool" }).sum).toBeGreaterThan(0);

    const xs2 = await agent("xs2");
    const join = xs2.histogram(`${a}xapi_call_duration_seconds`, { method: "pool.join" });
    expect(join.count).toBe(1);
    expect(join.sum).toBeGreaterThan(0);
    // After the join its own host refuses logins with HOST_IS_SLAVE: that is how the agent learns its role.
    expect(xs2.value(`${a}xapi_call_errors_total`, { method: "session.login_with_password", kind: "xenapi", code: "HOST_IS_SLAVE" })).toBeGreaterThan(0);
    expect(xs2.family(`${a}xapi_call_duration_seconds`).metrics.every((m) => m.labels?.host === "xs2")).toBe(true);
    expect(xs2.value(`${a}heartbeats_total`)).toBeGreaterThan(0);
    expect(xs2.value(`${a}registrations_total`)).toBeGreaterThanOrEqual(1);
    expect(xs2.value(`${a}xapi_reachable`)).toBe(1);
    // The master's agent never sent pool.join.
    expect((await agent("xs1")).histogram(`${a}xapi_call_duration_seconds`, { method: "pool.join" }).count).toBe(0);
  });

  it("reads pool state, hosts by liveness and heartbeat age from the store at each scrape", async () => {
    const s = await controller();
    const pool = { aggregate_id: String(aggregateId), aggregate: "metrics-pool" };
    expect(s.value(`${p}aggregate_pool_state`, { ...pool, state: "ACTIVE" })).toBe(1);
    expect(s.value(`${p}aggregate_pool_state`, pool)).toBe(1);
    expect(s.value(`${p}hosts`, { liveness: "ALIVE" })).toBe(3);
    expect(s.value(`${p}hosts`)).toBe(3);
    for (const host of hosts) {
      // Agents heartbeat every 200 ms.
      expect(s.value(`${p}host_heartbeat_age_seconds`, { host })).toBeLessThan(5);
    }
    expect(s.value(`${p}operations_unfinished`)).toBe(0);
  });

  it("shows migrations in flight during an evacuation, then counts them and the bytes moved", async () => {
    const vms = product.sim.control.addVms("xs2", { count: 4, memoryMiB: 4096, namePrefix: "metrics-vm" });
    const bytes = vms.length * 4096 * 1024 * 1024;
    const before = await controller();
    const op = await product.api.hosts.startMaintenance({ host: "xs2", maxParallel: 2 });
    const during = await product.waitFor(async () => {
      const s = await controller();
      return s.value(`${p}migrations_in_flight`) >= 1 ? s : undefined;
    }, 20_000, "a migration in flight");
    expect(during.value(`${p}migrations_in_flight`)).toBeLessThanOrEqual(2);
    expect(during.value(`${p}operations_unfinished`, { kind: "START_MAINTENANCE", state: "RUNNING" })).toBe(1);
    expect(during.value(`${p}aggregate_pool_state`, { aggregate: "metrics-pool", state: "CHANGING" })).toBe(1);

    const done = await product.waitOperation(op.id, 60_000);
    expect(done.state, done.error?.message).toBe(OperationState.SUCCEEDED);
    const after = await controller();
    expect(delta(after, before, `${p}migrations_total`, { result: "succeeded" })).toBe(4);
    expect(delta(after, before, `${p}migrations_total`, { result: "failed" })).toBe(0);
    expect(delta(after, before, `${p}migrated_bytes_total`)).toBe(bytes);
    expect(after.value(`${p}migrations_in_flight`)).toBe(0);
    const migrate = after.histogram(`${p}operation_step_duration_seconds`, { kind: "START_MAINTENANCE", step: "migrate-vms", state: "DONE" });
    expect(migrate.count).toBe(1);
    // 16 GiB over xs2's one 20 MiB/s link: 819 s nominal, about 4 s at time scale 0.005.
    expect(migrate.sum).toBeGreaterThan(1);
    expect(delta(after, before, `${p}operations_total`, { kind: "START_MAINTENANCE", result: "SUCCEEDED" })).toBe(1);

    const stop = await product.api.hosts.stopMaintenance({ host: "xs2" });
    expect((await product.waitOperation(stop.id, 60_000)).state).toBe(OperationState.SUCCEEDED);
  }, 90_000);

  it("counts a master-failure episode and its automatic recovery; the dead host's agent sees XAPI unreachable", async () => {
    const before = await controller();
    await product.sim.control.power("xs1", false);
    const recovery = await product.waitFor(async () => {
      const { operations } = await product.api.operations.listOperations({ aggregateId, pageSize: 100 });
      return operations.find((o) => o.kind === OperationKind.RECOVER_MASTER);
    }, 30_000, "a RECOVER_MASTER operation");
    const done = await product.waitOperation(recovery.id, 60_000);
    expect(done.state, done.error?.message).toBe(OperationState.SUCCEEDED);

    const after = await controller();
    expect(delta(after, before, `${p}master_failure_episodes_total`)).toBe(1);
    expect(delta(after, before, `${p}master_failures_total`, { handling: "automatic" })).toBe(1);
    expect(delta(after, before, `${p}master_failures_total`, { handling: "operator" })).toBe(0);
    expect(delta(after, before, `${p}operations_total`, { kind: "RECOVER_MASTER", result: "SUCCEEDED" })).toBe(1);
    expect(after.value(`${p}hosts`, { liveness: "FAILED" })).toBe(1);
    expect(after.value(`${p}aggregate_pool_state`, { aggregate: "metrics-pool", state: "ACTIVE" })).toBe(1);

    const xs1 = await product.waitFor(async () => {
      const s = await agent("xs1");
      return s.value(`${a}xapi_reachable`) === 0 ? s : undefined;
    }, 20_000, "xs1's agent to see its XAPI unreachable");
    expect(xs1.value(`${a}xapi_call_errors_total`, { kind: "unreachable" })).toBeGreaterThan(0);
  }, 90_000);

  it("never puts a token or the XAPI password in a scrape", async () => {
    const texts = [(await controller()).text, ...(await Promise.all(hosts.map(agent))).map((s) => s.text)];
    for (const text of texts) {
      for (const secret of [product.adminToken, product.agentToken, product.metricsToken, "sim-secret"]) expect(text).not.toContain(secret);
    }
  });
});
