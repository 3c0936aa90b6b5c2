/**
 * Issue 12 end to end: rolling maintenance of a whole aggregate against the simulator — every host
 * rebooted once with no running VM ever halted and the placement restored; pause and resume; hooks
 * that succeed and fail; a pool too full to lose a host; a VM that cannot go home.
 */
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MaintenanceState } from "../../gen/hostaggregates/v1/host_pb.js";
import { OperationKind, OperationState, RollingAction, RollingHostState, StepState, type Operation } from "../../gen/hostaggregates/v1/operation_pb.js";
import type { SimulatorState } from "../../simulator/index.js";
import { expectInvalidField, expectRpcError } from "../support/rpc-errors.js";
import { startProduct, type Product } from "./product-harness.js";

const placement = (s: SimulatorState) => Object.fromEntries(s.vms.filter((v) => !v.template).map((v) => [v.uuid, v.residentOn]));
const masterOf = (s: SimulatorState) => s.pools.find((pl) => pl.hosts.length > 1)?.master;

async function aggregateOf(p: Product, name: string, hosts: string[]): Promise<bigint> {
  const agg = await p.api.aggregates.createAggregate({ name });
  for (const h of hosts) await p.addHost(agg.id, h);
  return agg.id;
}

/** Waits until the operation is paused (or ended). */
async function whenPaused(p: Product, id: string): Promise<Operation> {
  return await p.waitFor(async () => {
    const op = await p.api.operations.getOperation({ id });
    return op.rolling?.paused || op.state !== OperationState.RUNNING && op.state !== OperationState.PENDING ? op : undefined;
  }, 60_000, `operation ${id} paused`);
}

describe("rolling REBOOT of a 4-host aggregate with 40 running VMs", () => {
  let p: Product;
  let id: bigint;
  beforeAll(async () => {
    p = await startProduct({ hosts: 4, baseAddress: "127.0.14.10", simulator: { hostMemoryMiB: 65536 } });
    id = await aggregateOf(p, "rolling", ["xs1", "xs2", "xs3", "xs4"]);
    for (const h of ["xs1", "xs2", "xs3", "xs4"]) p.sim.control.addVms(h, { count: 10, memoryMiB: 2048, namePrefix: `${h}-g` });
  }, 60_000);
  afterAll(async () => p?.close());

  it("refuses bad requests precisely", async () => {
    await expectInvalidField(p.api.aggregates.startRollingMaintenance({ aggregateId: id }), "action");
    await expectInvalidField(p.api.aggregates.startRollingMaintenance({ aggregateId: id, action: RollingAction.HOOK }), "hook");
    await expectInvalidField(p.api.aggregates.startRollingMaintenance({ aggregateId: id, action: RollingAction.HOOK, hook: "/bin/sh -c x" }), "hook");
    await expectInvalidField(p.api.aggregates.startRollingMaintenance({ aggregateId: id, action: RollingAction.REBOOT, hosts: ["xs1", "xs1"] }), "hosts");
    await expectInvalidField(p.api.aggregates.startRollingMaintenance({ aggregateId: 0n, action: RollingAction.REBOOT }), "aggregate_id");
    await expectInvalidField(p.api.aggregates.startRollingMaintenance({ aggregateId: id, action: RollingAction.REBOOT, maxParallel: 99 }), "max_parallel");
    await expectRpcError(p.api.aggregates.startRollingMaintenance({ aggregateId: 999n, action: RollingAction.REBOOT }), Code.NotFound);
    await expectRpcError(p.api.aggregates.startRollingMaintenance({ aggregateId: id, action: RollingAction.REBOOT, hosts: ["nope"] }), Code.NotFound);
  });

  it("the dry run plans every turn (master last) and changes nothing", async () => {
    const before = placement(p.sim.control.state());
    const plan = await p.api.aggregates.startRollingMaintenance({ aggregateId: id, action: RollingAction.REBOOT, validateOnly: true, maxParallel: 4 });
    expect(plan.state, plan.error?.message).toBe(OperationState.SUCCEEDED);
    expect(plan.id).toBe("");
    const r = plan.rolling!;
    const master = masterOf(p.sim.control.state());
    expect(r.hosts.map((h) => h.host)).toEqual([...["xs1", "xs2", "xs3", "xs4"].filter((h) => h !== master), master]);
    expect(r.hosts.at(-1)!.master).toBe(true);
    expect(r.hosts[0]!.plannedMoves).toHaveLength(10);
    expect(r.hosts.every((h) => h.blockers.length === 0 && h.plannedMoves.every((m) => m.fromHost === h.host && m.toHost !== h.host))).toBe(true);
    expect(Number(r.estimatedDuration?.seconds ?? 0n)).toBeGreaterThan(0);
    expect(placement(p.sim.control.state())).toEqual(before);
    expect((await p.api.operations.listOperations({ aggregateId: id })).operations.filter((o) => o.kind === OperationKind.ROLLING_MAINTENANCE)).toHaveLength(0);
  });

  it("reboots every host exactly once, never halts a running VM, restores the placement, and moves the master role once", async () => {
    const start = p.sim.control.state();
    const initial = placement(start);
    const boots = Object.fromEntries(start.hosts.map((h) => [h.name, h.bootCount]));
    const master = masterOf(start)!;
    const masters = [master];
    const halted = new Set<string>();
    const running = new Set(start.vms.filter((v) => v.powerState === "Running").map((v) => v.uuid));
    const off = p.sim.control.onChange((s) => {
      for (const v of s.vms) if (running.has(v.uuid) && v.powerState !== "Running") halted.add(v.name);
      const m = masterOf(s);
      if (m && m !== masters.at(-1)) masters.push(m);
    });
    const op = await p.api.aggregates.startRollingMaintenance({ aggregateId: id, action: RollingAction.REBOOT, maxParallel: 4 });
    expect(op.kind).toBe(OperationKind.ROLLING_MAINTENANCE);
    const done = await p.waitOperation(op.id, 240_000);
    off();
    expect(done.state, done.error?.message).toBe(OperationState.SUCCEEDED);
    const end = p.sim.control.state();
    expect(Object.fromEntries(end.hosts.map((h) => [h.name, h.bootCount - boots[h.name]!]))).toEqual({ xs1: 1, xs2: 1, xs3: 1, xs4: 1 });
    expect([...halted]).toEqual([]);
    expect(placement(end)).toEqual(initial);
    expect(masters).toHaveLength(2);
    expect(end.hosts.every((h) => h.enabled && h.live)).toBe(true);
    const r = done.rolling!;
    expect([r.hostsDone, r.hostsTotal, r.currentHost, r.unreturnedVms.length]).toEqual([4, 4, "", 0]);
    expect(r.hosts.every((h) => h.state === RollingHostState.DONE)).toBe(true);
    expect(r.vmsMoved).toBeGreaterThanOrEqual(40);
    // Every VM away from home when the return began is home again (counted once).
    expect(r.vmsReturned).toBeGreaterThan(0);
    expect(r.vmsReturned).toBeLessThanOrEqual(40);
    const hosts = (await p.api.hosts.listHosts({})).hosts.filter((h) => h.aggregateId === id);
    expect(hosts.every((h) => h.enabled && h.maintenance === MaintenanceState.NONE)).toBe(true);
    const { events } = await p.api.events.listEvents({ aggregateId: id, pageSize: 1000 });
    for (const h of ["xs1", "xs2", "xs3", "xs4"]) {
      expect(events.filter((e) => e.kind === "rolling.host-started" && e.host === h)).toHaveLength(1);
      expect(events.filter((e) => e.kind === "rolling.host-finished" && e.host === h)).toHaveLength(1);
    }
    expect(events.filter((e) => e.kind.startsWith("pool.master-f"))).toEqual([]);
  }, 300_000);
});

describe("rolling PAUSE and HOOK", () => {
  let p: Product;
  let id: bigint;
  const dir = mkdtempSync(join(tmpdir(), "rolling-hooks-"));
  const hook = (name: string, body: string) => {
    const path = join(dir, name);
    writeFileSync(path, `#!/bin/sh\n${body}\n`);
    chmodSync(path, 0o755);
    return path;
  };
  const patch = hook("patch.sh", `echo "$AGGREGATES_HOST_NAME" >> ${dir}/patched; echo "patched $AGGREGATES_HOST_NAME"`);
  // Fails on xs2 until the operator "fixes" it (creates the file).
  const flaky = hook("flaky.sh", `if [ "$AGGREGATES_HOST_NAME" = xs2 ] && [ ! -e ${dir}/fixed ]; then echo "xs2: cannot apply the update" >&2; exit 7; fi; echo ok`);

  beforeAll(async () => {
    p = await startProduct({ hosts: 3, baseAddress: "127.0.14.30", agentOptions: () => ({ hooks: new Map([["patch", patch], ["flaky", flaky]]) }) });
    id = await aggregateOf(p, "rolling-ops", ["xs1", "xs2", "xs3"]);
    for (const h of ["xs1", "xs2", "xs3"]) p.sim.control.addVms(h, { count: 3, memoryMiB: 1024, namePrefix: `${h}-p` });
  }, 60_000);
  afterAll(async () => p?.close());

  it("PAUSE waits for ResumeOperation with each host empty, disabled and in maintenance", async () => {
    const initial = placement(p.sim.control.state());
    const op = await p.api.aggregates.startRollingMaintenance({ aggregateId: id, action: RollingAction.PAUSE, hosts: ["xs3", "xs1", "xs2"] });
    for (const [i, host] of ["xs3", "xs1", "xs2"].entries()) {
      const paused = await whenPaused(p, op.id);
      expect(paused.state).toBe(OperationState.RUNNING);
      expect(paused.rolling).toMatchObject({ paused: true, currentHost: host, hostsDone: i, hostsTotal: 3 });
      expect(paused.rolling!.pauseReason).toContain(`operation-resume ${op.id}`);
      expect(paused.rolling!.hosts[i]!.state).toBe(RollingHostState.PAUSED);
      expect(p.sim.control.state().vms.filter((v) => v.residentOn === host)).toEqual([]);
      expect(p.sim.control.host(host).enabled).toBe(false);
      expect((await p.api.hosts.getHost({ name: host })).maintenance).toBe(MaintenanceState.IN_MAINTENANCE);
      // Nothing else may start on the aggregate meanwhile.
      await expectRpcError(p.api.hosts.startMaintenance({ host: ["xs1", "xs2", "xs3"].find((h) => h !== host)! }), Code.FailedPrecondition);
      const resumed = await p.api.operations.resumeOperation({ id: op.id });
      expect(resumed.rolling?.paused).toBe(false);
      await p.waitFor(async () => ((await p.api.operations.getOperation({ id: op.id })).rolling!.hosts[i]!.state === RollingHostState.DONE ? true : undefined), 30_000, `${host} back`);
    }
    const done = await p.waitOperation(op.id, 60_000);
    expect(done.state, done.error?.message).toBe(OperationState.SUCCEEDED);
    expect(placement(p.sim.control.state())).toEqual(initial);
    // Resuming what is not paused is refused.
    await expectRpcError(p.api.operations.resumeOperation({ id: op.id }), Code.FailedPrecondition);
    await expectRpcError(p.api.operations.resumeOperation({ id: "op-nope" }), Code.NotFound);
    await expectInvalidField(p.api.operations.resumeOperation({ id: "" }), "id");
  }, 180_000);

  it("HOOK runs the agent's configured executable on every host", async () => {
    const op = await p.api.aggregates.startRollingMaintenance({ aggregateId: id, action: RollingAction.HOOK, hook: "patch", skipReturn: true });
    const done = await p.waitOperation(op.id, 120_000);
    expect(done.state, done.error?.message).toBe(OperationState.SUCCEEDED);
    const { readFileSync } = await import("node:fs");
    expect(readFileSync(join(dir, "patched"), "utf8").trim().split("\n").sort()).toEqual(["xs1", "xs2", "xs3"]);
    expect(done.rolling!.hosts.every((h) => h.detail.includes('hook "patch" succeeded') && h.detail.includes(`patched ${h.host}`))).toBe(true);
    expect(done.steps.some((s) => s.name === "return-vms")).toBe(false);
  }, 180_000);

  it("a failing hook pauses the run with that host in maintenance; after a fix, ResumeOperation runs it again and the run finishes", async () => {
    const initial = placement(p.sim.control.state());
    const op = await p.api.aggregates.startRollingMaintenance({ aggregateId: id, action: RollingAction.HOOK, hook: "flaky", hosts: ["xs1", "xs2", "xs3"] });
    const paused = await whenPaused(p, op.id);
    expect(paused.rolling).toMatchObject({ paused: true, currentHost: "xs2", hostsDone: 1 });
    expect(paused.rolling!.pauseReason).toMatch(/hook "flaky" exited with status 7 on xs2; last output: xs2: cannot apply the update/);
    expect(p.sim.control.host("xs2").enabled).toBe(false);
    expect(p.sim.control.state().vms.filter((v) => v.residentOn === "xs2")).toEqual([]);
    expect((await p.api.hosts.getHost({ name: "xs2" })).maintenance).toBe(MaintenanceState.IN_MAINTENANCE);
    // Resumed without a fix: it fails and pauses again.
    await p.api.operations.resumeOperation({ id: op.id });
    await p.waitFor(async () => {
      const o = await p.api.operations.getOperation({ id: op.id });
      const events = (await p.api.events.listEvents({ aggregateId: id, pageSize: 1000 })).events.filter((e) => e.kind === "operation.paused" && e.operationId === op.id);
      return o.rolling?.paused && events.length >= 2 ? true : undefined;
    }, 30_000, "paused again");
    writeFileSync(join(dir, "fixed"), "");
    await p.api.operations.resumeOperation({ id: op.id });
    const done = await p.waitOperation(op.id, 120_000);
    expect(done.state, done.error?.message).toBe(OperationState.SUCCEEDED);
    expect(done.rolling!.hosts.map((h) => h.state)).toEqual([RollingHostState.DONE, RollingHostState.DONE, RollingHostState.DONE]);
    expect(placement(p.sim.control.state())).toEqual(initial);
  }, 180_000);

  it("an unknown hook pauses at the first host; CancelOperation then puts it back into service and stops", async () => {
    const op = await p.api.aggregates.startRollingMaintenance({ aggregateId: id, action: RollingAction.HOOK, hook: "missing", hosts: ["xs1", "xs2"], skipReturn: true });
    const paused = await whenPaused(p, op.id);
    expect(paused.rolling!.pauseReason).toMatch(/hook "missing" cannot run on xs1: no hook named "missing"/);
    await p.api.operations.cancelOperation({ id: op.id });
    const done = await p.waitOperation(op.id, 60_000);
    expect(done.state).toBe(OperationState.CANCELLED);
    expect(done.rolling!.hosts.map((h) => h.state)).toEqual([RollingHostState.DONE, RollingHostState.PENDING]);
    expect(p.sim.control.host("xs1").enabled).toBe(true);
    expect(p.sim.control.host("xs2").enabled).toBe(true);
    for (const name of ["xs1", "xs2"]) expect((await p.api.hosts.getHost({ name })).maintenance).toBe(MaintenanceState.NONE);
  }, 120_000);
  it("CancelOperation during a REBOOT stops after the current host is back in service; no host is left half-done", async () => {
    const boots = Object.fromEntries(p.sim.control.state().hosts.map((h) => [h.name, h.bootCount]));
    const op = await p.api.aggregates.startRollingMaintenance({ aggregateId: id, action: RollingAction.REBOOT, hosts: ["xs1", "xs2", "xs3"] });
    await p.waitFor(async () => {
      const o = await p.api.operations.getOperation({ id: op.id });
      return o.rolling?.hosts[0]?.state === RollingHostState.EVACUATING ? true : undefined;
    }, 30_000, "xs1 evacuating");
    await p.api.operations.cancelOperation({ id: op.id });
    const done = await p.waitOperation(op.id, 60_000);
    expect(done.state).toBe(OperationState.CANCELLED);
    expect(done.rolling!.hosts.map((h) => h.state)).toEqual([RollingHostState.DONE, RollingHostState.PENDING, RollingHostState.PENDING]);
    const end = p.sim.control.state();
    expect(Object.fromEntries(end.hosts.map((h) => [h.name, h.bootCount - boots[h.name]!]))).toEqual({ xs1: 1, xs2: 0, xs3: 0 });
    expect(end.hosts.every((h) => h.enabled)).toBe(true);
    for (const name of ["xs1", "xs2", "xs3"]) expect((await p.api.hosts.getHost({ name })).maintenance).toBe(MaintenanceState.NONE);
    expect(done.steps.find((s) => s.name === "xs1:back-in-service")?.detail).toMatch(/xs1 is back in service; cancelled with 1 of 3 host\(s\) done/);
    expect(done.steps.find((s) => s.name === "xs2:disable-host")?.state).toBe(StepState.PENDING);
  }, 120_000);
});

describe("rolling maintenance guards", () => {
  let p: Product;
  let id: bigint;
  beforeAll(async () => {
    p = await startProduct({ hosts: 3, baseAddress: "127.0.14.50", simulator: { hostMemoryMiB: 16384 } });
    id = await aggregateOf(p, "rolling-full", ["xs1", "xs2", "xs3"]);
  }, 60_000);
  afterAll(async () => p?.close());

  it("a pool too full to lose one host: the dry run names the step and the VMs, the real run moves nothing", async () => {
    const vms = ["xs1", "xs2", "xs3"].flatMap((h) => p.sim.control.addVms(h, { count: 3, memoryMiB: 3584, namePrefix: `${h}-full` }));
    const before = placement(p.sim.control.state());
    const plan = await p.api.aggregates.startRollingMaintenance({ aggregateId: id, action: RollingAction.REBOOT, validateOnly: true });
    expect(plan.state).toBe(OperationState.FAILED);
    expect(plan.error?.code).toBe("FAILED_PRECONDITION");
    expect(plan.error?.message).toMatch(/step 1 \(xs\d out\): .*HOST_NOT_ENOUGH_FREE_MEMORY/);
    const blocked = plan.rolling!.hosts.flatMap((h) => h.blockers);
    expect(blocked.length).toBeGreaterThan(0);
    expect(blocked.every((b) => vms.some((v) => v.uuid === b.vmUuid))).toBe(true);
    const refused = await expectRpcError(p.api.aggregates.startRollingMaintenance({ aggregateId: id, action: RollingAction.REBOOT }), Code.FailedPrecondition);
    expect(refused.rawMessage).toContain(blocked[0]!.vmName);
    expect(placement(p.sim.control.state())).toEqual(before);
    expect(p.sim.control.state().hosts.every((h) => h.enabled)).toBe(true);
    expect((await p.api.operations.listOperations({ aggregateId: id })).operations.filter((o) => o.kind === OperationKind.ROLLING_MAINTENANCE)).toEqual([]);
  });

});

describe("rolling maintenance: a VM that cannot go home", () => {
  let p: Product;
  beforeAll(async () => {
    p = await startProduct({ hosts: 3, baseAddress: "127.0.14.70", simulator: { hostMemoryMiB: 16384 } });
  }, 60_000);
  afterAll(async () => p?.close());

  it("the run SUCCEEDS with the VM reported on the operation and in an event", async () => {
    const agg = await aggregateOf(p, "rolling-home", ["xs1", "xs2", "xs3"]);
    for (const h of ["xs1", "xs2", "xs3"]) p.sim.control.addVms(h, { count: 2, memoryMiB: 1024, namePrefix: `${h}-h` });
    const master = masterOf(p.sim.control.state())!;
    const first = ["xs1", "xs2", "xs3"].filter((h) => h !== master).sort()[0]!;
    const op = await p.api.aggregates.startRollingMaintenance({ aggregateId: agg, action: RollingAction.REBOOT });
    // Once the first host is back in service, fill it so that its own VMs cannot return.
    await p.waitFor(async () => ((await p.api.operations.getOperation({ id: op.id })).rolling!.hostsDone >= 1 ? true : undefined), 60_000, "first host done");
    p.sim.control.addVms(first, { count: 1, memoryMiB: p.sim.control.host(first).memoryFreeMiB - 900, namePrefix: "filler" });
    const done = await p.waitOperation(op.id, 120_000);
    expect(done.state, done.error?.message).toBe(OperationState.SUCCEEDED);
    const unreturned = done.rolling!.unreturnedVms;
    expect(unreturned.map((u) => u.vmName).sort()).toEqual([`${first}-h-vm01`, `${first}-h-vm02`]);
    expect(unreturned.every((u) => u.homeHost === first && u.currentHost !== first && u.reason.includes("free"))).toBe(true);
    const { events } = await p.api.events.listEvents({ aggregateId: agg, pageSize: 1000 });
    expect(events.filter((e) => e.kind === "rolling.vm-not-returned")).toHaveLength(2);
    // Every other VM is home.
    const vms = p.sim.control.state().vms.filter((v) => v.name.includes("-h-vm") && !v.name.startsWith(first));
    expect(vms.every((v) => v.name.startsWith(`${v.residentOn}-`))).toBe(true);
  }, 180_000);
});
