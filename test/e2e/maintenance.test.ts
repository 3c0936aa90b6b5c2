/**
 * Issue 6 end to end: evacuating a host with live migration and bringing it back, checked
 * against the simulator's state (where every VM really is).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MaintenanceState } from "../../gen/hostaggregates/v1/host_pb.js";
import { OperationKind, OperationState, VmMoveState } from "../../gen/hostaggregates/v1/operation_pb.js";
import { startProduct, type Product } from "./product-harness.js";

const residentOn = (p: Product, host: string) =>
  p.sim.control.state().vms.filter((v) => v.residentOn === host && v.powerState === "Running" && !v.template);

async function pool(p: Product, name: string, hosts: string[]): Promise<bigint> {
  const agg = await p.api.aggregates.createAggregate({ name });
  for (const h of hosts) await p.addHost(agg.id, h);
  return agg.id;
}

describe("host maintenance", () => {
  let p: Product;
  let guests: string[];
  beforeAll(async () => {
    p = await startProduct({ hosts: 3, baseAddress: "127.0.1.100" });
    await pool(p, "maint", ["xs1", "xs2", "xs3"]);
    // 30 running VMs of mixed sizes on a member.
    const made = [
      ...p.sim.control.addVms("xs2", { count: 10, memoryMiB: 1024, namePrefix: "small" }),
      ...p.sim.control.addVms("xs2", { count: 12, memoryMiB: 2048, namePrefix: "medium" }),
      ...p.sim.control.addVms("xs2", { count: 8, memoryMiB: 4096, namePrefix: "large" }),
    ];
    guests = made.map((v) => v.uuid).sort();
    expect(residentOn(p, "xs2")).toHaveLength(30);
  }, 60_000);
  afterAll(async () => p?.close());

  it("evacuates all 30 VMs of a host, which ends disabled, empty and in maintenance", async () => {
    const op = await p.api.hosts.startMaintenance({ host: "xs2", maxParallel: 3 });
    const done = await p.waitOperation(op.id, 60_000);
    expect(done.state, done.error?.message).toBe(OperationState.SUCCEEDED);
    expect(done.evacuation).toMatchObject({ vmsTotal: 30, vmsMoved: 30, maxParallel: 3 });
    expect(done.evacuation!.moves.every((m) => m.state === VmMoveState.DONE)).toBe(true);
    expect(residentOn(p, "xs2")).toHaveLength(0);
    const moved = p.sim.control.state().vms.filter((v) => guests.includes(v.uuid));
    expect(moved.every((v) => v.powerState === "Running" && (v.residentOn === "xs1" || v.residentOn === "xs3"))).toBe(true);
    expect(p.sim.control.host("xs2").enabled).toBe(false);
    const host = await p.api.hosts.getHost({ name: "xs2" });
    expect(host).toMatchObject({ enabled: false, maintenance: MaintenanceState.IN_MAINTENANCE });
    expect(host.vms).toHaveLength(0);
    // The origin of every moved VM is recorded and shown where it now runs.
    const xs1 = await p.api.hosts.getHost({ name: "xs1" });
    expect(xs1.vms.filter((v) => v.originHost === "xs2").length + (await p.api.hosts.getHost({ name: "xs3" })).vms.filter((v) => v.originHost === "xs2").length).toBe(30);
  }, 90_000);

  it("reports how many hosts can be in maintenance at once", async () => {
    const agg = (await p.api.aggregates.listAggregates({})).aggregates.find((a) => a.name === "maint")!;
    // xs2 is already in maintenance; of the two others, one can still go (256 GiB hosts, ~110 GiB of VMs).
    const details = await p.api.aggregates.getAggregate({ id: agg.id });
    expect(details.pool?.maintenanceHeadroom).toBe(1);
    // ListAggregates tells the same (the console's overview shows it), and so does a write's answer.
    expect(agg.pool?.maintenanceHeadroom).toBe(1);
    const written = await p.api.aggregates.setAggregateMetadata({ id: agg.id, metadata: { "headroom-check": "1" } });
    expect(written.pool?.maintenanceHeadroom).toBe(1);
    expect(written.metadata["headroom-check"]).toBe("1");
  });

  it("refuses a second start and re-enabling while in maintenance", async () => {
    await expect(p.api.hosts.startMaintenance({ host: "xs2" })).rejects.toThrow(/already/);
    await expect(p.api.hosts.setHostEnabled({ name: "xs2", enabled: true })).rejects.toThrow(/maintenance/);
  });

  it("stop with rebalance enables the host and moves its VMs back", async () => {
    const op = await p.api.hosts.stopMaintenance({ host: "xs2", rebalance: true });
    const done = await p.waitOperation(op.id, 60_000);
    expect(done.state, done.error?.message).toBe(OperationState.SUCCEEDED);
    expect(residentOn(p, "xs2").map((v) => v.uuid).sort()).toEqual(guests);
    expect(p.sim.control.host("xs2").enabled).toBe(true);
    expect(await p.api.hosts.getHost({ name: "xs2" })).toMatchObject({ enabled: true, maintenance: MaintenanceState.NONE });
  }, 90_000);

  it("hands the master role over before evacuating the master", async () => {
    const few = p.sim.control.addVms("xs1", { count: 3, memoryMiB: 1024, namePrefix: "on-master" });
    const op = await p.api.hosts.startMaintenance({ host: "xs1" });
    const done = await p.waitOperation(op.id, 60_000);
    expect(done.state, done.error?.message).toBe(OperationState.SUCCEEDED);
    const steps = done.steps.map((s) => s.name);
    expect(steps.indexOf("hand-over-master")).toBeGreaterThan(-1);
    expect(steps.indexOf("hand-over-master")).toBeLessThan(steps.indexOf("migrate-vms"));
    const state = p.sim.control.state();
    const master = state.hosts.find((h) => h.name === "xs1")!.master;
    expect(master).not.toBe("xs1");
    expect(state.pools.find((pl) => pl.master === master)?.hosts.sort()).toEqual(["xs1", "xs2", "xs3"]);
    expect(residentOn(p, "xs1")).toHaveLength(0);
    expect(state.vms.filter((v) => few.some((f) => f.uuid === v.uuid)).every((v) => v.residentOn !== "xs1")).toBe(true);
    const agg = (await p.api.aggregates.listAggregates({})).aggregates.find((a) => a.name === "maint")!;
    expect(agg.pool?.masterHost).toBe(master);
    const stop = await p.waitOperation((await p.api.hosts.stopMaintenance({ host: "xs1" })).id);
    expect(stop.state).toBe(OperationState.SUCCEEDED);
  }, 90_000);

  it("re-plans a VM whose target refuses it and still empties the host", async () => {
    const agg = (await p.api.aggregates.listAggregates({})).aggregates.find((a) => a.name === "maint")!;
    const master = agg.pool!.masterHost;
    const slave = ["xs1", "xs2", "xs3"].find((h) => h !== master)!;
    const vms = p.sim.control.addVms(slave, { count: 4, memoryMiB: 1024, namePrefix: "retry" });
    // The pool master receives VM.pool_migrate: make its next migration fail as XenServer would.
    p.sim.control.setFault(master, { method: "Async.VM.pool_migrate", error: ["HOST_NOT_ENOUGH_FREE_MEMORY", "1073741824", "0"], count: 1 });
    const done = await p.waitOperation((await p.api.hosts.startMaintenance({ host: slave, maxParallel: 1 })).id, 60_000);
    expect(done.state, done.error?.message).toBe(OperationState.SUCCEEDED);
    expect(p.sim.control.host(master).faults).toBe(0);
    expect(residentOn(p, slave)).toHaveLength(0);
    const retried = done.evacuation!.moves.filter((m) => m.attempts > 1);
    expect(retried).toHaveLength(1);
    expect(retried[0]!.state).toBe(VmMoveState.DONE);
    expect(vms.every((v) => p.sim.control.state().vms.find((x) => x.uuid === v.uuid)?.residentOn !== slave)).toBe(true);
    await p.waitOperation((await p.api.hosts.stopMaintenance({ host: slave })).id);
  }, 90_000);
});

describe("cancelling an evacuation", () => {
  let p: Product;
  beforeAll(async () => {
    p = await startProduct({ hosts: 3, baseAddress: "127.0.1.190", simulator: { linkBandwidthMiBps: 20 } });
    await pool(p, "cancel", ["xs1", "xs2", "xs3"]);
    p.sim.control.addVms("xs2", { count: 12, memoryMiB: 4096, namePrefix: "vm" });
  }, 60_000);
  afterAll(async () => p?.close());

  it("stops starting migrations, lets running ones finish, and leaves a consistent record", async () => {
    const op = await p.api.hosts.startMaintenance({ host: "xs2", maxParallel: 2 });
    await p.waitFor(async () => ((await p.api.operations.getOperation({ id: op.id })).evacuation?.vmsMoved ?? 0) >= 2 || undefined, 30_000, "two VMs moved");
    await p.api.operations.cancelOperation({ id: op.id });
    const done = await p.waitOperation(op.id, 60_000);
    expect(done.state).toBe(OperationState.CANCELLED);
    const moves = done.evacuation!.moves;
    expect(moves.some((m) => m.state === VmMoveState.SKIPPED)).toBe(true);
    expect(moves.every((m) => m.state === VmMoveState.DONE || m.state === VmMoveState.SKIPPED)).toBe(true);
    // The record matches the simulator: DONE moves are on their target, SKIPPED ones still on xs2.
    const vms = new Map(p.sim.control.state().vms.map((v) => [v.uuid, v]));
    for (const m of moves) {
      const vm = vms.get(m.vmUuid)!;
      expect(vm.migratingTo).toBeNull();
      expect(vm.residentOn).toBe(m.state === VmMoveState.DONE ? m.toHost : "xs2");
    }
    expect(done.evacuation!.vmsMoved).toBe(moves.filter((m) => m.state === VmMoveState.DONE).length);
    const host = await p.api.hosts.getHost({ name: "xs2" });
    expect(host).toMatchObject({ enabled: false, maintenance: MaintenanceState.NONE });
    expect(host.statusReason).toMatch(/maintenance did not complete/);
    // The operator takes the host back.
    expect((await p.waitOperation((await p.api.hosts.stopMaintenance({ host: "xs2" })).id)).state).toBe(OperationState.SUCCEEDED);
    expect((await p.api.hosts.getHost({ name: "xs2" })).enabled).toBe(true);
  }, 90_000);
});

describe("maintenance that cannot place every VM", () => {
  let p: Product;
  beforeAll(async () => {
    p = await startProduct({ hosts: 3, baseAddress: "127.0.1.130", simulator: { hostMemoryMiB: 40_960 } });
    await pool(p, "small", ["xs1", "xs2", "xs3"]);
    // Fill the other members so that each has room for one 10 GiB VM only.
    for (const h of ["xs1", "xs3"]) p.sim.control.addVms(h, { count: 1, memoryMiB: 24_576, namePrefix: `filler-${h}` });
  }, 60_000);
  afterAll(async () => p?.close());

  it("dry run lists exactly the VMs that cannot move and why; the real run moves nothing", async () => {
    const big = p.sim.control.addVms("xs2", { count: 3, memoryMiB: 10_240, namePrefix: "big" });
    const local = p.sim.control.addVms("xs2", { count: 1, memoryMiB: 512, localStorage: true, namePrefix: "local" });
    const before = p.sim.control.state().vms.map((v) => `${v.uuid}@${v.residentOn}`).sort();

    const dry = await p.api.hosts.startMaintenance({ host: "xs2", validateOnly: true });
    expect(dry.evacuation?.validateOnly).toBe(true);
    const blockers = dry.evacuation!.blockers;
    expect(blockers).toHaveLength(2);
    const byCode = Object.fromEntries(blockers.map((b) => [b.xapiCode, b]));
    expect(byCode["VM_REQUIRES_SR"]?.vmUuid).toBe(local[0]!.uuid);
    expect(byCode["HOST_NOT_ENOUGH_FREE_MEMORY"]).toBeDefined();
    expect(big.map((v) => v.uuid)).toContain(byCode["HOST_NOT_ENOUGH_FREE_MEMORY"]!.vmUuid);
    expect(dry.evacuation!.moves).toHaveLength(2);
    // A dry run records nothing.
    const recorded = (await p.api.operations.listOperations({ host: "xs2" })).operations;
    expect(recorded.filter((o) => o.kind === OperationKind.START_MAINTENANCE)).toHaveLength(0);

    const op = await p.api.hosts.startMaintenance({ host: "xs2" });
    const done = await p.waitOperation(op.id, 60_000);
    expect(done.state).toBe(OperationState.FAILED);
    expect(done.error?.message).toContain("VM_REQUIRES_SR");
    expect(done.error?.message).toContain("HOST_NOT_ENOUGH_FREE_MEMORY");
    expect(p.sim.control.state().vms.map((v) => `${v.uuid}@${v.residentOn}`).sort()).toEqual(before);
    expect(await p.api.hosts.getHost({ name: "xs2" })).toMatchObject({ enabled: true, maintenance: MaintenanceState.NONE });
    expect(p.sim.control.host("xs2").enabled).toBe(true);
  }, 60_000);
});

describe("maintenance across a controller crash", () => {
  let p: Product;
  beforeAll(async () => {
    p = await startProduct({ hosts: 3, baseAddress: "127.0.1.160", controllerProcess: true });
    await pool(p, "crash-maint", ["xs1", "xs2", "xs3"]);
    p.sim.control.addVms("xs2", { count: 20, memoryMiB: 4096, namePrefix: "vm" });
  }, 60_000);
  afterAll(async () => p?.close());

  it("resumes an evacuation after the controller is SIGKILLed mid-way and finishes it", async () => {
    const op = await p.api.hosts.startMaintenance({ host: "xs2", maxParallel: 2 });
    await p.waitFor(async () => {
      const current = await p.api.operations.getOperation({ id: op.id });
      return (current.evacuation?.vmsMoved ?? 0) >= 4 || undefined;
    }, 30_000, "a few VMs moved");
    await p.controllerProcess!.kill("SIGKILL");
    expect(residentOn(p, "xs2").length).toBeGreaterThan(0);
    await p.controllerProcess!.start();
    const done = await p.waitOperation(op.id, 90_000);
    expect(done.state, done.error?.message).toBe(OperationState.SUCCEEDED);
    expect(done.evacuation?.vmsMoved).toBe(20);
    expect(residentOn(p, "xs2")).toHaveLength(0);
    expect((await p.api.hosts.getHost({ name: "xs2" })).maintenance).toBe(MaintenanceState.IN_MAINTENANCE);
  }, 120_000);
});
