/**
 * Issue 7 end to end: a dead pool master is detected and replaced; a master only the controller
 * cannot reach is left alone; automatic recovery can be switched off per aggregate; a returning
 * old master is fenced; a controller SIGKILLed during the recovery finishes it after a restart.
 * Every claim about the pool reads the simulator's state, i.e. what XenServer would report.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { MembershipState, PoolState } from "../../gen/hostaggregates/v1/aggregate_pb.js";
import { HostLiveness } from "../../gen/hostaggregates/v1/host_pb.js";
import { OperationKind, OperationState, StepState, type Operation } from "../../gen/hostaggregates/v1/operation_pb.js";
import { expectRpcError } from "../support/rpc-errors.js";
import { clientFor } from "../simulator/helpers.js";
import { startProduct, type Product } from "./product-harness.js";

/** Simulator timings: slaves give up on a dead master quickly (nominal ms; × timeScale 0.005). */
const simulator = { masterLostGraceMs: 10_000, emergencyRetryMs: 10_000 };

/** Hosts that run as master of the pool with this uuid right now (the simulator's view). */
function mastersOf(p: Product, poolUuid: string): string[] {
  return p.sim.control
    .state()
    .hosts.filter((h) => h.toolstack === "up" && h.role === "master" && h.poolUuid === poolUuid)
    .map((h) => h.name)
    .sort();
}

async function createPool(p: Product, name: string, hosts: string[]): Promise<bigint> {
  const agg = await p.api.aggregates.createAggregate({ name });
  for (const host of hosts) await p.addHost(agg.id, host);
  return agg.id;
}

async function recoveries(p: Product, aggregateId: bigint): Promise<Operation[]> {
  const { operations } = await p.api.operations.listOperations({ aggregateId, pageSize: 100 });
  return operations.filter((o) => o.kind === OperationKind.RECOVER_MASTER);
}

async function eventKinds(p: Product, aggregateId: bigint): Promise<string[]> {
  const { events } = await p.api.events.listEvents({ aggregateId, pageSize: 1000 });
  return events.map((e) => e.kind).reverse();
}

describe("master failure with the controller in-process", () => {
  let p: Product;
  beforeAll(async () => {
    p = await startProduct({ hosts: 9, baseAddress: "127.0.2.10", simulator });
  }, 60_000);
  afterAll(async () => p?.close());

  const detector = () => p.controller!.masterFailureDetector;

  it("detects a powered-off master, promotes the member with the most free memory, and the pool works again", async () => {
    const id = await createPool(p, "mf-auto", ["xs1", "xs2", "xs3"]);
    const poolUuid = p.sim.control.host("xs1").poolUuid;
    const doomed = p.sim.control.addVms("xs1", { count: 2, memoryMiB: 512 });
    p.sim.control.addVms("xs3", { count: 2, memoryMiB: 4096 });
    // The controller has seen xs3's smaller free memory (and the detector remembered it).
    await p.waitFor(async () => (await p.api.hosts.getHost({ name: "xs3" })).capacity?.runningVms === 2, 20_000, "xs3's VMs reported");
    const passes = detector().stats().passes;
    await p.waitFor(async () => detector().stats().passes >= passes + 2, 20_000, "two detector passes");

    const { failureThresholdMs } = detector().settings;
    const poweredOffAt = Date.now();
    await p.sim.control.power("xs1", false);
    const [recovery] = await p.waitFor(async () => {
      const ops = await recoveries(p, id);
      return ops.length > 0 ? ops : undefined;
    }, 30_000, "a RECOVER_MASTER operation");
    const done = await p.waitOperation(recovery!.id, 60_000);
    const tookMs = Date.now() - poweredOffAt;
    expect(done.state, done.error?.message).toBe(OperationState.SUCCEEDED);
    // Within the threshold plus the recovery itself (generous: the machine is shared).
    expect(tookMs).toBeLessThan(failureThresholdMs + 20_000);
    expect(done.steps.map((s) => s.name)).toEqual([
      "confirm-master-failure",
      "choose-new-master",
      "emergency-transition",
      "recover-slaves",
      "record-new-master",
      "mark-old-master-failed",
      "report-lost-vms",
    ]);
    expect(done.steps.every((s) => s.state === StepState.DONE)).toBe(true);
    expect(done.host).toBe("xs1");

    // The simulator: xs2 is the one master, xs3 its connected slave.
    expect(p.sim.control.host("xs2")).toMatchObject({ role: "master", toolstack: "up" });
    expect(p.sim.control.host("xs3")).toMatchObject({ role: "slave", master: "xs2", connected: true, emergency: false });
    expect(mastersOf(p, poolUuid)).toEqual(["xs2"]);

    // The record: new master, old one FAILED and disabled, the VMs that died with it reported.
    const agg = await p.api.aggregates.getAggregate({ id });
    expect(agg.pool).toMatchObject({ state: PoolState.ACTIVE, masterHost: "xs2", poolUuid });
    expect(agg.pool?.lastError).toBeUndefined();
    expect(agg.members.find((m) => m.host === "xs1")?.state).toBe(MembershipState.FAILED);
    expect(agg.pool?.lostVms.map((v) => v.vmUuid).sort()).toEqual(doomed.map((v) => v.uuid).sort());
    expect(agg.pool?.lostVms.every((v) => v.host === "xs1")).toBe(true);
    const xs1 = await p.api.hosts.getHost({ name: "xs1" });
    expect(xs1).toMatchObject({ liveness: HostLiveness.FAILED, membership: MembershipState.FAILED, enabled: false });
    expect(xs1.statusReason).toMatch(/failed as pool master/);

    const kinds = await eventKinds(p, id);
    for (const kind of [
      "pool.master-unreachable",
      "pool.master-failed",
      "operation.accepted",
      "operation.started",
      "pool.master-promoted",
      "pool.slaves-recovered",
      "pool.master-changed",
      "host.failed",
      "pool.vms-lost",
      "pool.master-recovered",
      "operation.succeeded",
    ]) {
      expect(kinds, kind).toContain(kind);
    }
    const { events } = await p.api.events.listEvents({ aggregateId: id, pageSize: 1000 });
    expect(events.filter((e) => e.operationId === done.id && e.kind === "operation.step")).toHaveLength(7);
    expect(kinds.indexOf("pool.master-failed")).toBeLessThan(kinds.indexOf("pool.master-promoted"));

    // The pool takes changes again: a join, then a maintenance that moves xs3's VMs away.
    await p.addHost(id, "xs4");
    expect(p.sim.control.host("xs4")).toMatchObject({ role: "slave", master: "xs2", connected: true });
    const maintenance = await p.api.hosts.startMaintenance({ host: "xs3" });
    const evacuated = await p.waitOperation(maintenance.id, 60_000);
    expect(evacuated.state, evacuated.error?.message).toBe(OperationState.SUCCEEDED);
    const onXs3 = p.sim.control.state().vms.filter((v) => v.residentOn === "xs3");
    expect(onXs3).toEqual([]);

    // The old master comes back: it is repointed at xs2, never stays a second master, and is disabled.
    await p.sim.control.power("xs1", true);
    await p.waitFor(async () => {
      const h = p.sim.control.host("xs1");
      const record = await p.api.hosts.getHost({ name: "xs1" });
      return h.toolstack === "up" && h.role === "slave" && h.master === "xs2" && h.connected && /fenced/.test(record.statusReason) ? record : undefined;
    }, 30_000, "xs1 fenced");
    expect(mastersOf(p, poolUuid)).toEqual(["xs2"]);
    expect(p.sim.control.host("xs1").enabled).toBe(false);
    const fenced = await p.api.hosts.getHost({ name: "xs1" });
    expect(fenced).toMatchObject({ membership: MembershipState.FAILED, enabled: false, liveness: HostLiveness.ALIVE });
    expect(await eventKinds(p, id)).toContain("host.fenced");
    // Still reported: the VMs that ran on xs1 died with it (XenServer halts them when it boots).
    expect((await p.api.aggregates.getAggregate({ id })).pool?.lostVms).toHaveLength(2);
    expect(await recoveries(p, id)).toHaveLength(1);

    // Not a dead end: repair takes the fenced former master back as a disabled member, and it can be removed.
    const repaired = await p.api.aggregates.repairAggregate({ id });
    expect(repaired.members.find((m) => m.host === "xs1")?.state).toBe(MembershipState.MEMBER);
    expect((await p.api.hosts.getHost({ name: "xs1" })).enabled).toBe(false);

    // Back in service, the former master runs one of its lost VMs again (an operator restarts it there): no longer lost.
    const back = await p.waitOperation((await p.api.hosts.stopMaintenance({ host: "xs1" })).id, 60_000);
    expect(back.state, back.error?.message).toBe(OperationState.SUCCEEDED);
    const [restarted, stillLost] = (await p.api.aggregates.getAggregate({ id })).pool!.lostVms;
    const xapi = clientFor(p.sim, "xs2");
    await xapi.login("root", "sim-secret");
    const vmRef = await xapi.ok<string>("VM.get_by_uuid", restarted!.vmUuid);
    await xapi.ok("VM.start_on", vmRef, await xapi.ok<string>("host.get_by_uuid", p.sim.control.host("xs1").uuid), false, false);
    await p.waitFor(async () => {
      await detector().tick();
      const lost = (await p.api.aggregates.getAggregate({ id })).pool!.lostVms;
      return lost.length === 1 ? lost : undefined;
    }, 30_000, "the restarted VM dropped from the lost VMs");
    expect((await p.api.aggregates.getAggregate({ id })).pool!.lostVms.map((v) => v.vmUuid)).toEqual([stillLost!.vmUuid]);
    // Out of service again before it leaves: no VM may run on a host being removed.
    await xapi.ok("VM.hard_shutdown", vmRef);
    await p.api.hosts.setHostEnabled({ name: "xs1", enabled: false });
    const removed = await p.waitOperation((await p.api.aggregates.removeHost({ aggregateId: id, host: "xs1" })).id, 60_000);
    expect(removed.state, removed.error?.message).toBe(OperationState.SUCCEEDED);
    expect((await p.api.aggregates.getAggregate({ id })).hosts).not.toContain("xs1");
  }, 120_000);

  it("does not promote anyone when only the controller loses the master's agent", async () => {
    const id = await createPool(p, "mf-partition", ["xs5", "xs6", "xs7"]);
    const poolUuid = p.sim.control.host("xs5").poolUuid;
    const { failureThresholdMs } = detector().settings;
    const xs5 = p.agents[4]!;
    await xs5.close();
    const closedAt = Date.now();
    // The detector sees it, asks the members, and they still read the pool through xs5.
    await p.waitFor(async () => ((await eventKinds(p, id)).includes("pool.master-partition") ? true : undefined), 30_000, "the partition event");
    await expectRpcError(p.api.aggregates.recoverMaster({ id }), Code.FailedPrecondition);
    const passes = detector().stats().passes;
    await p.waitFor(
      async () => Date.now() - closedAt >= 4 * failureThresholdMs && detector().stats().passes >= passes + 5,
      60_000,
      "a window of four failure thresholds",
    );
    expect(await recoveries(p, id)).toEqual([]);
    const agg = await p.api.aggregates.getAggregate({ id });
    expect(agg.pool).toMatchObject({ state: PoolState.ACTIVE, masterHost: "xs5" });
    expect(mastersOf(p, poolUuid)).toEqual(["xs5"]);
    for (const name of ["xs6", "xs7"]) expect(p.sim.control.host(name)).toMatchObject({ role: "slave", master: "xs5", connected: true, emergency: false });
    expect((await p.api.hosts.getHost({ name: "xs5" })).membership).toBe(MembershipState.MEMBER);
  }, 90_000);

  it("with auto_recover_master=false only reports the failure; RecoverMaster from an operator recovers", async () => {
    const id = await createPool(p, "mf-manual", ["xs8", "xs9"]);
    const poolUuid = p.sim.control.host("xs8").poolUuid;
    await p.api.aggregates.setAggregateMetadata({ id, metadata: { auto_recover_master: "false" } });
    // A healthy master is not recovered.
    const healthy = await expectRpcError(p.api.aggregates.recoverMaster({ id }), Code.FailedPrecondition);
    expect(healthy.rawMessage).toMatch(/has not failed/);

    await p.sim.control.power("xs8", false);
    const failed = await p.waitFor(async () => {
      const agg = await p.api.aggregates.getAggregate({ id });
      return agg.pool?.state === PoolState.ERROR ? agg : undefined;
    }, 30_000, "the aggregate to show the failure");
    expect(failed.pool?.lastError?.message).toMatch(/auto_recover_master/);
    expect(failed.pool?.lastError?.message).toMatch(/aggregate-recover-master/);
    expect(failed.pool?.masterHost).toBe("xs8");
    expect(await eventKinds(p, id)).toContain("pool.master-failed");
    // Nothing moves on its own while the operator decides.
    const passes = detector().stats().passes;
    await p.waitFor(async () => detector().stats().passes >= passes + 3, 20_000, "three more detector passes");
    expect(await recoveries(p, id)).toEqual([]);
    expect(mastersOf(p, poolUuid)).toEqual([]);

    await expectRpcError(p.api.aggregates.recoverMaster({ id, newMaster: "xs8" }), Code.FailedPrecondition);
    const op = await p.api.aggregates.recoverMaster({ id, newMaster: "xs9" });
    expect(op.kind).toBe(OperationKind.RECOVER_MASTER);
    const done = await p.waitOperation(op.id, 60_000);
    expect(done.state, done.error?.message).toBe(OperationState.SUCCEEDED);
    const agg = await p.api.aggregates.getAggregate({ id });
    expect(agg.pool).toMatchObject({ state: PoolState.ACTIVE, masterHost: "xs9" });
    expect(agg.pool?.lastError).toBeUndefined();
    expect(mastersOf(p, poolUuid)).toEqual(["xs9"]);
  }, 90_000);
});

describe("master recovery survives a controller crash", () => {
  let p: Product;
  beforeAll(async () => {
    p = await startProduct({ hosts: 3, baseAddress: "127.0.2.30", controllerProcess: true, simulator });
  }, 60_000);
  afterAll(async () => p?.close());

  it("a controller SIGKILLed right after the emergency transition finishes the recovery after restart", async () => {
    const id = await createPool(p, "mf-crash", ["xs1", "xs2", "xs3"]);
    const poolUuid = p.sim.control.host("xs1").poolUuid;
    const cp = p.controllerProcess!;
    await cp.kill("SIGTERM");
    await cp.start({ AGGREGATES_TEST_CRASH: "RECOVER_MASTER:during:3" });
    await p.sim.control.power("xs1", false);
    await cp.exited();
    expect(cp.child!.signalCode, `the hook should have killed the controller:\n${cp.output.slice(-2000)}`).toBe("SIGKILL");
    // It died after a member was promoted and before that was recorded.
    const promoted = mastersOf(p, poolUuid);
    expect(promoted).toHaveLength(1);

    await cp.start();
    const [recovery] = await p.waitFor(async () => {
      const ops = await recoveries(p, id);
      return ops.length > 0 ? ops : undefined;
    }, 30_000, "the RECOVER_MASTER operation");
    const done = await p.waitOperation(recovery!.id, 60_000);
    expect(done.state, done.error?.message).toBe(OperationState.SUCCEEDED);
    // Resumed at the interrupted step, which found the member already promoted.
    const transition = done.steps.find((s) => s.name === "emergency-transition")!;
    expect(transition.state).toBe(StepState.SKIPPED);
    expect(transition.detail).toMatch(/already the pool master/);

    const agg = await p.api.aggregates.getAggregate({ id });
    expect(agg.pool).toMatchObject({ state: PoolState.ACTIVE, masterHost: promoted[0] });
    expect(mastersOf(p, poolUuid)).toEqual(promoted);
    const other = ["xs2", "xs3"].find((n) => n !== promoted[0])!;
    expect(p.sim.control.host(other)).toMatchObject({ role: "slave", master: promoted[0], connected: true });
    expect((await p.api.hosts.getHost({ name: "xs1" })).membership).toBe(MembershipState.FAILED);
    expect(await recoveries(p, id)).toHaveLength(1);
  }, 90_000);
});

describe("a dead master that never returns", () => {
  let p: Product;
  beforeAll(async () => {
    p = await startProduct({ hosts: 3, baseAddress: "127.0.2.200", simulator });
  }, 60_000);
  afterAll(async () => p?.close());

  it("RemoveHost of the FAILED former master destroys its record in the pool (host.destroy), so the pool matches the aggregate", async () => {
    const id = await createPool(p, "mf-gone", ["xs1", "xs2", "xs3"]);
    const poolUuid = p.sim.control.host("xs1").poolUuid;
    p.sim.control.addVms("xs1", { count: 1, memoryMiB: 512 });
    await p.sim.control.power("xs1", false);
    const [recovery] = await p.waitFor(async () => {
      const ops = await recoveries(p, id);
      return ops.length > 0 ? ops : undefined;
    }, 30_000, "a RECOVER_MASTER operation");
    expect((await p.waitOperation(recovery!.id, 60_000)).state).toBe(OperationState.SUCCEEDED);
    const [master] = mastersOf(p, poolUuid);
    const poolOf = () => p.sim.control.state().pools.find((pl) => pl.master === master && pl.uuid === poolUuid)!;
    expect(poolOf().hosts).toContain("xs1");

    const removed = await p.waitOperation((await p.api.aggregates.removeHost({ aggregateId: id, host: "xs1" })).id, 60_000);
    expect(removed.state, removed.error?.message).toBe(OperationState.SUCCEEDED);
    expect(removed.steps.find((s) => s.name === "eject-host")).toMatchObject({ state: StepState.DONE, detail: expect.stringMatching(/host\.destroy/) });
    expect([...poolOf().hosts].sort()).toEqual(["xs2", "xs3"]);
    const agg = await p.api.aggregates.getAggregate({ id });
    expect([...agg.hosts].sort()).toEqual(["xs2", "xs3"]);
    expect(agg.pool).toMatchObject({ state: PoolState.ACTIVE, masterHost: master });
    // The VM that died with xs1 is halted in the pool database now, not resident on a host that no longer exists.
    expect(p.sim.control.state().vms.filter((v) => v.residentOn === "xs1")).toEqual([]);
  }, 90_000);
});
