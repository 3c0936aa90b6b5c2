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
import { OperationKind, OperationState, RollingAction, RollingHostState, type Operation } from "../../gen/hostaggregates/v1/operation_pb.js";
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
