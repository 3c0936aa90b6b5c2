import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrationLowerBoundMs, type Simulator } from "../../simulator/index.js";
import { clientFor, joinPool, startTestSim, until, type Xapi } from "./helpers.js";

// docs/xenapi-notes.md §Simulator checklist, points 20–21 (facts in §VM.pool_migrate and §Records and reads),
// and the migration time model (docs/simulator.md, "Time model of a migration").
// The §8.N in the test titles are the point numbers of that checklist.
const MiB = 1024 * 1024;
let sim: Simulator;
let m: Xapi;
const ref: Record<string, string> = {};

/** VM ref by name label, via XenAPI. */
const vmRef = async (name: string): Promise<string> => (await m.ok<string[]>("VM.get_by_name_label", name))[0]!;
const free = (host: string): Promise<number> => m.ok<string>("host.compute_free_memory", ref[host]).then(Number);
const waitTask = (task: string): Promise<string> =>
  until(async () => {
    const s = await m.ok<string>("task.get_status", task);
    return s === "pending" || s === "cancelling" ? undefined : s;
  });

beforeAll(async () => {
  // 10 MiB/s: a 1 GiB VM takes ~102 s nominal = ~102 ms real at timeScale 0.001.
  sim = await startTestSim("127.0.0.160", { hosts: 3, linkBandwidthMiBps: 10, hostAssumedDeadMs: 50_000 });
  await sim.control.addHost({ name: "small", memoryMiB: 8192, dom0MemoryMiB: 2048 });
  await sim.control.addHost({ name: "amd", cpuVendor: "AuthenticAMD" });
  await Promise.all(["xs2", "xs3", "small"].map((h) => joinPool(sim, h, "xs1")));
  const a = clientFor(sim, "amd");
  await a.login();
  await a.ok("pool.join_force", "127.0.0.160", "root", "s3cret");
  await sim.control.waitFor((s) => s.hosts.find((h) => h.name === "amd")?.live);
  m = clientFor(sim, "xs1");
  await m.login();
  for (const h of ["xs1", "xs2", "xs3", "small", "amd"]) ref[h] = (await m.ok<string[]>("host.get_by_name_label", h))[0]!;
  sim.control.addVms("xs1", { count: 3, memoryMiB: 512, namePrefix: "small" });
  sim.control.addVms("xs1", { count: 1, memoryMiB: 8192, namePrefix: "big" });
  sim.control.addVms("xs1", { count: 1, memoryMiB: 4096, namePrefix: "slow" });
  sim.control.addVms("xs1", { powerState: "Halted", namePrefix: "halted" });
  sim.control.addVms("xs1", { powerState: "Suspended", namePrefix: "suspended" });
  sim.control.addVms("xs1", { powerState: "Paused", namePrefix: "paused" });
  sim.control.addVms("xs1", { powerState: "Halted", template: true, namePrefix: "tpl" });
  sim.control.addVms("xs1", { powerState: "Running", template: true, namePrefix: "runtpl" });
  sim.control.addVms("xs1", { localStorage: true, namePrefix: "local" });
});
afterAll(() => sim.close());

describe("VM.pool_migrate preconditions (§8.20)", () => {
  it("unknown VM or host → HANDLE_INVALID", async () => {
    expect(await m.fail("VM.pool_migrate", "OpaqueRef:x", ref.xs2, {})).toEqual(["HANDLE_INVALID", "VM", "OpaqueRef:x"]);
    expect(await m.fail("VM.pool_migrate", await vmRef("small-vm01"), "OpaqueRef:y", {})).toEqual(["HANDLE_INVALID", "host", "OpaqueRef:y"]);
  });

  it("power state must be running → VM_BAD_POWER_STATE [vm, running, actual]", async () => {
    for (const [name, actual] of [
      ["halted-vm01", "halted"],
      ["suspended-vm01", "suspended"],
      ["paused-vm01", "paused"],
      ["tpl-vm01", "halted"],
    ]) {
      const vm = await vmRef(name!);
      expect(await m.fail("VM.pool_migrate", vm, ref.xs2, {})).toEqual(["VM_BAD_POWER_STATE", vm, "running", actual]);
    }
  });

  it("template → VM_IS_TEMPLATE; control domain → OPERATION_NOT_ALLOWED", async () => {
    const tpl = await vmRef("runtpl-vm01");
    expect(await m.fail("VM.pool_migrate", tpl, ref.xs2, {})).toEqual(["VM_IS_TEMPLATE", tpl]);
    const dom0 = await m.ok<string>("host.get_control_domain", ref.xs1);
    expect(await m.fail("VM.pool_migrate", dom0, ref.xs2, {})).toEqual([
      "OPERATION_NOT_ALLOWED",
      "This operation is not allowed on a control domain",
    ]);
  });

  it("disabled target → HOST_DISABLED [host]; migrating to the current host is allowed", async () => {
    const vm = await vmRef("small-vm01");
    await m.ok("host.disable", ref.xs2);
    expect(await m.fail("VM.pool_migrate", vm, ref.xs2, {})).toEqual(["HOST_DISABLED", ref.xs2]);
    await m.ok("host.enable", ref.xs2);
    await m.ok("host.disable", ref.xs1);
    expect(await m.ok("VM.pool_migrate", vm, ref.xs1, { live: "true" })).toBe("");
    expect(await m.ok("VM.get_resident_on", vm)).toBe(ref.xs1);
    await m.ok("host.enable", ref.xs1);
  });

  it("local storage → VM_REQUIRES_SR [vm, sr]", async () => {
    const vm = await vmRef("local-vm01");
    const sr = await m.ok<string>("host.get_suspend_image_sr", ref.xs1);
    expect(await m.ok("SR.get_shared", sr)).toBe(false);
    expect(await m.fail("VM.pool_migrate", vm, ref.xs2, {})).toEqual(["VM_REQUIRES_SR", vm, sr]);
  });

  it("not enough memory → HOST_NOT_ENOUGH_FREE_MEMORY [needed, available] in bytes", async () => {
    const vm = await vmRef("big-vm01");
    const needed = (8192 + 8192 / 128 + 1) * MiB;
    const available = (8192 - 2048) * MiB;
    expect(await free("small")).toBe(available);
    expect(await m.fail("VM.pool_migrate", vm, ref.small, {})).toEqual([
      "HOST_NOT_ENOUGH_FREE_MEMORY",
      String(needed),
      String(available),
    ]);
  });

  it("CPU vendor mismatch → VM_INCOMPATIBLE_WITH_THIS_HOST unless force", async () => {
    const vm = await vmRef("small-vm02");
    const e = await m.fail("VM.pool_migrate", vm, ref.amd, {});
    expect(e.slice(0, 3)).toEqual(["VM_INCOMPATIBLE_WITH_THIS_HOST", vm, ref.amd]);
    expect(await m.ok("VM.pool_migrate", vm, ref.amd, { force: "true" })).toBe("");
    expect(await m.ok("VM.get_resident_on", vm)).toBe(ref.amd);
  });

  it("dead target: unreachable → CANNOT_CONTACT_HOST, then live=false → HOST_NOT_LIVE []", async () => {
    const vm = await vmRef("small-vm03");
    await sim.control.power("xs3", false);
    expect(await m.fail("VM.pool_migrate", vm, ref.xs3, {})).toEqual(["CANNOT_CONTACT_HOST", ref.xs3]);
    await sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs3")?.live === false);
    expect(await m.fail("VM.pool_migrate", vm, ref.xs3, {})).toEqual(["HOST_NOT_LIVE"]);
    expect(await m.fail("host.disable", ref.xs3)).toEqual(["HOST_OFFLINE", ref.xs3]);
    sim.control.power("xs3", true);
    await sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs3")?.live);
  });
});

describe("migration effects, tasks and memory (§8.20-21, §8.6)", () => {
  it("reserves memory on the target while in flight, then moves resident_on and the memory", async () => {
    const vm = await vmRef("slow-vm01");
    const need = (4096 + 4096 / 128 + 1) * MiB;
    const [src0, dst0] = [await free("xs1"), await free("xs2")];
    const task = await m.ok<string>("Async.VM.pool_migrate", vm, ref.xs2, { live: "true" });
    await until(async () => (await m.ok<Record<string, string>>("VM.get_current_operations", vm))[task] === "pool_migrate");
    // In flight: still resident on the source, memory reserved on the target.
    expect(await m.ok("VM.get_resident_on", vm)).toBe(ref.xs1);
    expect(await free("xs1")).toBe(src0);
    expect(await free("xs2")).toBe(dst0 - need);
    const metrics = await m.ok<string>("host.get_metrics", ref.xs2);
    expect(Number(await m.ok("host_metrics.get_memory_free", metrics))).toBe(dst0 - need);
    // Another operation on it → OTHER_OPERATION_IN_PROGRESS ["VM", vm, op, task]
    expect(await m.fail("VM.pool_migrate", vm, ref.xs3, {})).toEqual(["OTHER_OPERATION_IN_PROGRESS", "VM", vm, "pool_migrate", task]);
    const progress = await until(async () => {
      const p = await m.ok<number>("task.get_progress", task);
      return p > 0.1 && p < 1 ? p : undefined;
    });
    expect(progress).toBeGreaterThan(0);
    expect(await waitTask(task)).toBe("success");
    expect(await m.ok("task.get_result", task)).toBe("<value></value>");
    expect(await m.ok("task.get_progress", task)).toBe(1);
    expect(await m.ok("VM.get_resident_on", vm)).toBe(ref.xs2);
    expect(await m.ok("VM.get_current_operations", vm)).toEqual({});
    expect(await free("xs1")).toBe(src0 + need);
    expect(await free("xs2")).toBe(dst0 - need);
    expect(await m.ok<string[]>("host.get_resident_VMs", ref.xs2)).toContain(vm);
  });

  it("task.cancel stops a migration: cancelled, TASK_CANCELLED, VM stays, reservation freed", async () => {
    const vm = await vmRef("slow-vm01");
    const before = await free("xs1");
    const task = await m.ok<string>("Async.VM.pool_migrate", vm, ref.xs1, {});
    await until(async () => ((await m.ok<number>("task.get_progress", task)) > 0.06 ? true : undefined));
    expect(await m.ok("task.cancel", task)).toBe("");
    expect(await waitTask(task)).toBe("cancelled");
    expect(await m.ok("task.get_error_info", task)).toEqual(["TASK_CANCELLED", task]);
    expect(await m.ok("VM.get_resident_on", vm)).toBe(ref.xs2);
    expect(await free("xs1")).toBe(before);
    expect(await m.fail("task.cancel", task)).toEqual(["OPERATION_NOT_ALLOWED", "Task is not pending"]);
    expect(await m.ok("task.destroy", task)).toBe("");
  });

  it("a source crash fails the migration with VM_MIGRATE_FAILED", async () => {
    const vm = await vmRef("slow-vm01");
    const task = await m.ok<string>("Async.VM.pool_migrate", vm, ref.xs1, {});
    await until(async () => ((await m.ok<number>("task.get_progress", task)) > 0.06 ? true : undefined));
    await sim.control.power("xs2", false);
    expect(await waitTask(task)).toBe("failure");
    expect(await m.ok("task.get_error_info", task)).toEqual(["VM_MIGRATE_FAILED", vm, ref.xs2, ref.xs1, "host crashed"]);
    sim.control.power("xs2", true);
    await sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs2")?.connected);
    // The crash halted the VM when xs2 booted again.
    expect(await m.ok("VM.get_power_state", vm)).toBe("Halted");
  });

  it("sync tasks are not left behind", async () => {
    const vm = await vmRef("small-vm01");
    expect(await m.ok("VM.pool_migrate", vm, ref.xs3, {})).toBe("");
    const tasks = await m.ok<Record<string, Record<string, unknown>>>("task.get_all_records");
    expect(Object.values(tasks).filter((t) => t["status"] === "pending")).toEqual([]);
  });
});

describe("migration time model", () => {
  let timed: Simulator;
  afterAll(() => timed?.close());

  it("takes setup + memory / bandwidth + downtime; concurrent migrations share the source link", async () => {
    // timeScale 0.02: 1 GiB at 110 MiB/s = 9.31 s nominal = 186 ms real; setup 2 s = 40 ms.
    timed = await startTestSim("127.0.0.170", { hosts: 2, timeScale: 0.02, fuseMs: 100, restartMs: 100 });
    await joinPool(timed, "xs2", "xs1");
    const vms = timed.control.addVms("xs1", { count: 3, memoryMiB: 1024 });
    const c = clientFor(timed, "xs1");
    await c.login();
    const target = (await c.ok<string[]>("host.get_by_name_label", "xs2"))[0];
    const refs = await Promise.all(vms.map((v) => c.ok<string>("VM.get_by_uuid", v.uuid)));
    const model = timed.durations;
    const one = migrationLowerBoundMs([{ memoryBytes: 1024 * MiB }], model);
    expect(one).toBeCloseTo(2_000 + (1024 / 110) * 1000 + 150, 3);

    let started = performance.now();
    await c.ok("VM.pool_migrate", refs[0], target, {});
    const single = performance.now() - started;
    expect(single, "lower bound").toBeGreaterThanOrEqual(timed.clock.toReal(one) - 3);
    expect(single, "upper bound (CPU contention allowance)").toBeLessThan(timed.clock.toReal(one) * 2 + 150);

    const pair = [refs[1], refs[2]];
    const two = migrationLowerBoundMs(
      vms.slice(1).map((v) => ({ memoryBytes: v.memoryBytes, source: "xs1" })),
      model,
    );
    expect(two).toBeCloseTo(2_000 + ((2 * 1024) / 110) * 1000 + 150, 3);
    expect(timed.control.migrationLowerBound(vms.slice(1).map((v) => v.uuid)).nominalMs).toBeCloseTo(two, 3);
    // Both share xs1's link: the last one ends only when the pair's bytes are across (an
    // unshared model would end both at the single-VM time), and they end together (a
    // sequential model would end them one transfer time apart).
    started = performance.now();
    const finished = await Promise.all(pair.map((r) => c.ok("VM.pool_migrate", r, target, {}).then(() => performance.now() - started)));
    const last = Math.max(...finished);
    expect(last, "shared link: the pair ends after the pair's bytes").toBeGreaterThanOrEqual(timed.clock.toReal(two) - 3);
    expect(last, "upper bound (CPU contention allowance)").toBeLessThan(timed.clock.toReal(two) * 2 + 150);
    const transferReal = timed.clock.toReal(((1024 * MiB) / (110 * MiB)) * 1000);
    expect(Math.abs(finished[0]! - finished[1]!), "they end together").toBeLessThan(transferReal / 2);
    // Two sources in parallel: the bound is the slower source, not the sum.
    expect(
      migrationLowerBoundMs(
        [
          { memoryBytes: 1024 * MiB, source: "a" },
          { memoryBytes: 2048 * MiB, source: "b" },
        ],
        model,
      ),
    ).toBeCloseTo(2_000 + (2048 / 110) * 1000 + 150, 3);
  });
});
