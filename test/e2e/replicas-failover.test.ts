/**
 * Issue 14 acceptance: three controller replicas (processes) on one PostgreSQL database. The replica
 * running an operation is SIGKILLed at each step of AddHost, RemoveHost and StartMaintenance (right
 * after the step acted, before it was recorded): another replica takes the aggregate's lease once it
 * expires and finishes the operation, and the record matches the pools as XenAPI shows them.
 *
 * The doomed replica (r1, given AGGREGATES_TEST_CRASH) is the only one running when the operation is
 * accepted, so it takes the lease; the two others are started as soon as it holds it.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { OperationState, type Operation } from "../../gen/hostaggregates/v1/operation_pb.js";
import { PoolState } from "../../gen/hostaggregates/v1/aggregate_pb.js";
import type { ApiClients } from "../../cli/api-clients.js";
import { readRealHosts } from "../../chaos/real-pool.js";
import { ReplicaCluster } from "../../chaos/replica-cluster.js";
import { eventually } from "../support/eventually.js";
import { describeOnPostgres } from "../support/postgres.js";
import { waitForOperation } from "./product-harness.js";

describeOnPostgres("replicas: the replica running an operation is SIGKILLed at each step", () => {
  let c: ReplicaCluster;
  let aggregateId: bigint;
  const api = (): ApiClients => c.api();
  beforeAll(async () => {
    c = await ReplicaCluster.start({ hosts: 3, baseAddress: "127.0.21.10", timeScale: 0.005, leaseTtlSeconds: 2, heartbeatSeconds: 2 });
    aggregateId = (await api().aggregates.createAggregate({ name: "ha-pool" })).id;
    for (const host of ["xs1", "xs2"]) expect((await finish((await api().aggregates.addHost({ aggregateId, host })).id)).state).toBe(OperationState.SUCCEEDED);
  }, 90_000);
  afterAll(async () => c?.close());

  const finish = (id: string): Promise<Operation> => waitForOperation(api(), id, 60_000);

  /** Runs an operation on r1 armed to die at `spec` (see submitToArmedReplica); returns it once it ended, after checking that r1 died and another replica finished it. */
  async function killedAt(spec: string, submit: (api: ApiClients) => Promise<string>): Promise<Operation> {
    const { id, armed: doomed, others } = await c.submitToArmedReplica(spec, aggregateId, submit);
    await doomed.exited();
    expect(doomed.killedBy, `the hook should have killed ${doomed.id} at ${spec}:\n${doomed.output().slice(-2000)}`).toBe("SIGKILL");
    const op = await finish(id);
    expect(op.state, `${spec}: ${op.error?.message}`).toBe(OperationState.SUCCEEDED);
    const holder = await c.leaseHolder(aggregateId);
    const finisher = others.find((r) => r.id === holder);
    expect(finisher, `the lease went to ${holder}`).toBeDefined();
    expect(finisher!.output()).toMatch(new RegExp(`running operation.*${id}`));
    return op;
  }

  /** The record equals what XenAPI says: the aggregate's members form one pool under its master, every other host is alone. */
  async function expectRecordMatchesPools(): Promise<void> {
    const agg = await api().aggregates.getAggregate({ id: aggregateId });
    const real = await readRealHosts(c.sim.hosts, "root", c.xapiPassword);
    expect(agg.pool?.state).toBe(PoolState.ACTIVE);
    const master = real.find((h) => h.name === agg.pool!.masterHost)!.view;
    expect(master.kind === "master" ? [master.poolName, master.master, master.hosts] : master).toEqual(["ha-pool", agg.pool!.masterHost, [...agg.hosts].sort()]);
    for (const h of real.filter((r) => !agg.hosts.includes(r.name))) {
      expect(h.view.kind === "master" ? h.view.hosts : h.view, `${h.name} alone`).toEqual([h.name]);
    }
    for (const name of agg.hosts) expect((await api().hosts.getHost({ name })).enabled, `${name} enabled`).toBe(true);
  }

  const addHost = (host: string) => (a: ApiClients) => a.aggregates.addHost({ aggregateId, host }).then((op) => op.id);
  const removeHost = (host: string) => async (a: ApiClients) => {
    await a.hosts.setHostEnabled({ name: host, enabled: false });
    return (await a.aggregates.removeHost({ aggregateId, host })).id;
  };
  const standalone = (name: string) =>
    eventually(`${name} alone and free again`, async () => {
      const [h] = await readRealHosts(c.sim.hosts.filter((s) => s.name === name), "root", c.xapiPassword);
      return h!.view.kind === "master" && h!.view.hosts.length === 1 && (await api().hosts.getHost({ name })).aggregateId === 0n;
    }, 30_000);

  // As in crash-safety.test.ts: a joining AddHost is killed at its first three steps, a slave's
  // RemoveHost at its first two (designate-new-master, skipped, and eject-host).
  for (const step of [1, 2, 3]) {
    it(`AddHost finishes on another replica after a kill during step ${step}; so does RemoveHost`, async () => {
      await killedAt(`ADD_HOST:during:${step}`, addHost("xs3"));
      await expectRecordMatchesPools();
      if (step <= 2) await killedAt(`REMOVE_HOST:during:${step}`, removeHost("xs3"));
      else expect((await finish(await removeHost("xs3")(api()))).state).toBe(OperationState.SUCCEEDED);
      await standalone("xs3");
      await expectRecordMatchesPools();
    }, 90_000);
  }

  it("sets up VMs on both members for the maintenance cases", async () => {
    await c.sim.control.addVms("xs1", { count: 2, memoryMiB: 1024, namePrefix: "ha-a" });
    await c.sim.control.addVms("xs2", { count: 2, memoryMiB: 1024, namePrefix: "ha-b" });
  });

  for (const step of [1, 2, 3, 4, 5]) {
    it(`StartMaintenance of the master finishes on another replica after a kill during step ${step}`, async () => {
      const master = (await api().aggregates.getAggregate({ id: aggregateId })).pool!.masterHost;
      await killedAt(`START_MAINTENANCE:during:${step}`, async (a) => (await a.hosts.startMaintenance({ host: master })).id);
      const host = await api().hosts.getHost({ name: master });
      const real = await readRealHosts(c.sim.hosts, "root", c.xapiPassword);
      const newMaster = real.find((h) => h.view.kind === "master" && h.view.hosts.length > 1);
      expect(newMaster?.name, "the master role moved").not.toBe(master);
      expect(newMaster!.view.kind === "master" && newMaster!.view.vms.filter((v) => v.residentOn === master)).toEqual([]);
      expect(host.enabled).toBe(false);
      expect((await api().aggregates.getAggregate({ id: aggregateId })).pool?.masterHost).toBe(newMaster!.name);
      expect((await finish((await api().hosts.stopMaintenance({ host: master })).id)).state).toBe(OperationState.SUCCEEDED);
      await expectRecordMatchesPools();
    }, 90_000);
  }
});
