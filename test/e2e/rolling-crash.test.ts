/**
 * Issue 12 crash safety: a rolling REBOOT with the controller (a separate process) SIGKILLed at
 * several points — mid-evacuation, right after host.reboot was accepted, after a host came back,
 * during the master's hand-over, during the return — and restarted each time. The run resumes from
 * the exact step and finishes: every host rebooted exactly once, the placement restored.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OperationState, RollingAction, StepState } from "../../gen/hostaggregates/v1/operation_pb.js";
import { startProduct, type Product } from "./product-harness.js";

// Steps per host for REBOOT: disable, plan, hand-over, migrate, finish, reboot, wait, enable, back (9); then the return.
const perHost = 9;

describe("rolling maintenance survives SIGKILL of the controller", () => {
  let p: Product;
  let aggregateId: bigint;
  beforeAll(async () => {
    p = await startProduct({ hosts: 3, baseAddress: "127.0.14.110", controllerProcess: true });
    aggregateId = (await p.api.aggregates.createAggregate({ name: "rolling-crash" })).id;
    for (const h of ["xs1", "xs2", "xs3"]) await p.addHost(aggregateId, h);
    for (const h of ["xs1", "xs2", "xs3"]) p.sim.control.addVms(h, { count: 3, memoryMiB: 1024, namePrefix: `${h}-c` });
  }, 60_000);
  afterAll(async () => p?.close());

  it("resumes from the exact step after each kill and finishes with every host rebooted once", async () => {
    const start = p.sim.control.state();
    const placement = (s = p.sim.control.state()) => Object.fromEntries(s.vms.map((v) => [v.uuid, v.residentOn]));
    const initial = placement(start);
    const boots = Object.fromEntries(start.hosts.map((h) => [h.name, h.bootCount]));
    const running = new Set(start.vms.map((v) => v.uuid));
    const halted = new Set<string>();
    const off = p.sim.control.onChange((s) => {
      for (const v of s.vms) if (running.has(v.uuid) && v.powerState !== "Running") halted.add(v.name);
    });

    const points = [
      `during:4`, // first host's migrate-vms acted, not recorded
      `during:6`, // first host's host.reboot accepted, not recorded
      `after:${perHost + 7}`, // second host back from its reboot
      `during:${2 * perHost + 3}`, // the master's hand-over (the master goes last)
      `during:${3 * perHost + 1}`, // the return
    ];
    const cp = p.controllerProcess!;
    await cp.kill("SIGTERM");
    await cp.start({ AGGREGATES_TEST_CRASH: `ROLLING_MAINTENANCE:${points[0]}` });
    const op = await p.api.aggregates.startRollingMaintenance({ aggregateId, action: RollingAction.REBOOT, maxParallel: 2 });
    for (const [i, point] of points.entries()) {
      await p.killedByHook(op.id, point);
      const next = points[i + 1];
      await cp.start(next ? { AGGREGATES_TEST_CRASH: `ROLLING_MAINTENANCE:${next}` } : {});
    }
    const done = await p.waitOperation(op.id, 180_000);
    off();
    expect(done.state, done.error?.message).toBe(OperationState.SUCCEEDED);
    const end = p.sim.control.state();
    expect(Object.fromEntries(end.hosts.map((h) => [h.name, h.bootCount - boots[h.name]!]))).toEqual({ xs1: 1, xs2: 1, xs3: 1 });
    expect([...halted]).toEqual([]);
    expect(placement(end)).toEqual(initial);
    expect(done.rolling!.hostsDone).toBe(3);
    expect(end.hosts.every((h) => h.enabled)).toBe(true);
    // The journal shows each step once (resumed steps were not repeated as new ones).
    expect(done.steps).toHaveLength(3 * perHost + 1);
    expect(done.steps.every((s) => s.state === StepState.DONE || s.state === StepState.SKIPPED)).toBe(true);
  }, 300_000);

  it("a paused run stays paused across a SIGKILL and restart, and resumes from the paused step", async () => {
    const paused = async (id: string, host: string) =>
      await p.waitFor(async () => {
        const o = await p.api.operations.getOperation({ id });
        return o.rolling?.paused && o.rolling.currentHost === host ? o : undefined;
      }, 60_000, `paused at ${host}`);
    const op = await p.api.aggregates.startRollingMaintenance({ aggregateId, action: RollingAction.PAUSE, hosts: ["xs2", "xs3"], skipReturn: true });
    await paused(op.id, "xs2");
    const cp = p.controllerProcess!;
    await cp.kill("SIGKILL");
    await cp.start();
    // Still paused after the restart: the step ran again and paused again; xs2 stays out of service.
    const again = await paused(op.id, "xs2");
    expect(again.state).toBe(OperationState.RUNNING);
    expect(p.sim.control.host("xs2").enabled).toBe(false);
    expect(again.steps.find((s) => s.name === "xs2:pause")?.state).toBe(StepState.RUNNING);
    await p.api.operations.resumeOperation({ id: op.id });
    await paused(op.id, "xs3");
    expect(p.sim.control.host("xs2").enabled).toBe(true);
    await p.api.operations.cancelOperation({ id: op.id });
    const done = await p.waitOperation(op.id, 60_000);
    expect(done.state).toBe(OperationState.CANCELLED);
    expect(p.sim.control.state().hosts.every((h) => h.enabled)).toBe(true);
  }, 180_000);
});
