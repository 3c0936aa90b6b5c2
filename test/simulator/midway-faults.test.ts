/**
 * Faults inside running calls (`midway`): a migration that fails half-way through its memory copy,
 * a join that fails after its toolstack restart, and any other call that does its work and then
 * answers an error — what a randomized fault campaign needs beyond failures before a call starts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "../../simulator/index.js";
import { PASSWORD, clientFor, joinPool, startTestSim, until } from "./helpers.js";

let sim: Simulator;

async function setFault(host: string, body: unknown): Promise<number> {
  const res = await fetch(`${sim.controlUrl}/hosts/${host}/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  await res.text();
  return res.status;
}

beforeAll(async () => {
  // A slow link, so the half-way point of a copy is well inside the migration.
  sim = await startTestSim("127.0.0.236", { hosts: 4, timeScale: 0.002, linkBandwidthMiBps: 20 });
  await joinPool(sim, "xs2", "xs1");
});
afterAll(() => sim.close());

describe("midway faults", () => {
  it("are validated: midway needs an error", async () => {
    expect(await setFault("xs1", { method: "VM.pool_migrate", midway: true })).toBe(400);
    expect(await setFault("xs1", { method: "VM.pool_migrate", midway: "yes", error: ["A"] })).toBe(400);
  });

  it("VM.pool_migrate: the task fails after half the memory was copied and the VM stays on its host", async () => {
    const [vm] = sim.control.addVms("xs1", { count: 1, memoryMiB: 1024 });
    const c = clientFor(sim, "xs1");
    await c.login();
    const vmRef = (await c.ok<string[]>("VM.get_by_uuid", vm!.uuid)) as unknown as string;
    const target = (await c.ok<string[]>("host.get_by_name_label", "xs2"))[0];
    expect(await setFault("xs1", { method: "VM.pool_migrate", midway: true, error: ["VM_MIGRATE_FAILED", "copy", "lost"] })).toBe(201);
    const task = await c.ok<string>("Async.VM.pool_migrate", vmRef, target, {});
    let highest = 0;
    const status = await until(async () => {
      const progress = Number(await c.ok("task.get_progress", task));
      const s = await c.ok<string>("task.get_status", task);
      if (s === "pending") highest = Math.max(highest, progress);
      return s === "pending" ? undefined : s;
    });
    expect(status).toBe("failure");
    expect(await c.ok("task.get_error_info", task)).toEqual(["VM_MIGRATE_FAILED", "copy", "lost"]);
    // Part-way: the copy had started (progress past the setup), and did not finish.
    expect(highest).toBeGreaterThan(0.05);
    expect(highest).toBeLessThan(0.95);
    const after = sim.control.state().vms.find((v) => v.uuid === vm!.uuid)!;
    expect(after).toMatchObject({ residentOn: "xs1", powerState: "Running", migratingTo: null });
  });

  it("pool.join: the call answers, the host restarts its toolstack and comes back standalone; the master forgets it", async () => {
    const j = clientFor(sim, "xs3");
    await j.login();
    expect(await setFault("xs3", { method: "pool.join", midway: true, error: ["JOINING_HOST_SERVICE_FAILED"] })).toBe(201);
    await j.ok("pool.join", sim.hosts[0]!.address, "root", PASSWORD);
    await sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs3")?.restartPending);
    await sim.control.waitFor((s) => {
      const h = s.hosts.find((x) => x.name === "xs3");
      return h?.toolstack === "up" && !h.restartPending;
    });
    const state = sim.control.state();
    expect(state.hosts.find((h) => h.name === "xs3")).toMatchObject({ role: "master", master: "xs3" });
    expect(state.pools.find((p) => p.master === "xs1")?.hosts).toEqual(["xs1", "xs2"]);
  });

  it("any other call does its work, then answers the error", async () => {
    const c = clientFor(sim, "xs4");
    await c.login();
    const pool = (await c.ok<string[]>("pool.get_all"))[0];
    expect(await setFault("xs4", { method: "pool.set_name_label", midway: true, error: ["INTERNAL_ERROR", "reply lost"] })).toBe(201);
    expect(await c.fail("pool.set_name_label", pool, "renamed")).toEqual(["INTERNAL_ERROR", "reply lost"]);
    expect(await c.ok("pool.get_name_label", pool)).toBe("renamed");
  });
});
