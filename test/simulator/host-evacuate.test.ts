import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "../../simulator/index.js";
import { clientFor, joinPool, startTestSim, until, type Xapi } from "./helpers.js";

// docs/xenapi-notes.md §Simulator checklist, points 21–23 (facts in §Host maintenance and §Records and reads).
// The §8.N in the test titles are the point numbers of that checklist.
const MiB = 1024 * 1024;
let sim: Simulator;
let m: Xapi;
const ref: Record<string, string> = {};

beforeAll(async () => {
  sim = await startTestSim("127.0.0.190", { hosts: 3 });
  await Promise.all(["xs2", "xs3"].map((h) => joinPool(sim, h, "xs1")));
  m = clientFor(sim, "xs1");
  await m.login();
  for (const h of ["xs1", "xs2", "xs3"]) ref[h] = (await m.ok<string[]>("host.get_by_name_label", h))[0]!;
});
afterAll(() => sim.close());

const vmsOn = (host: string) => sim.control.state().vms.filter((v) => v.residentOn === host);

describe("read API (§8.23)", () => {
  it("pool reads and set_name_label", async () => {
    const pools = await m.ok<string[]>("pool.get_all");
    expect(pools).toHaveLength(1);
    const record = await m.ok<Record<string, unknown>>("pool.get_record", pools[0]);
    expect(record).toMatchObject({ master: ref.xs1, name_label: "", ha_enabled: false });
    expect(Object.keys(record)).toEqual(expect.arrayContaining(["uuid", "name_description", "default_SR", "other_config", "cpu_info"]));
    expect(await m.ok("pool.set_name_label", pools[0], "agg-1")).toBe("");
    expect(await m.ok("pool.get_name_label", pools[0])).toBe("agg-1");
    expect(sim.control.host("xs2").poolName).toBe("agg-1");
    expect(await m.ok("pool.get_by_uuid", record["uuid"])).toBe(pools[0]);
  });

  it("host reads: records, getters, by name label (a set), by uuid", async () => {
    const all = await m.ok<string[]>("host.get_all");
    expect(all.sort()).toEqual(Object.values(ref).sort());
    const records = await m.ok<Record<string, Record<string, unknown>>>("host.get_all_records");
    const rec = records[ref.xs2!]!;
    expect(rec).toMatchObject({
      name_label: "xs2",
      hostname: "xs2",
      address: "127.0.0.191",
      enabled: true,
      API_version_major: "2",
      API_version_minor: "21",
      uuid: sim.control.host("xs2").uuid,
    });
    expect(rec["software_version"]).toMatchObject({ product_brand: "XenServer", platform_version: "3.4.0", xapi: "25.6.0", db_schema: "5.786" });
    expect(rec["cpu_info"]).toMatchObject({ vendor: "GenuineIntel" });
    expect(await m.ok("host.get_record", ref.xs2)).toEqual(rec);
    expect(await m.ok("host.get_address", ref.xs2)).toBe("127.0.0.191");
    expect(await m.ok("host.get_hostname", ref.xs2)).toBe("xs2");
    expect(await m.ok("host.get_uuid", ref.xs2)).toBe(rec["uuid"]);
    expect(await m.ok("host.get_software_version", ref.xs2)).toEqual(rec["software_version"]);
    expect(await m.ok("host.get_by_name_label", "nope")).toEqual([]);
    expect(await m.ok("host.get_by_uuid", rec["uuid"])).toBe(ref.xs2);
    const metrics = await m.ok<string>("host.get_metrics", ref.xs2);
    const mr = await m.ok<Record<string, unknown>>("host_metrics.get_record", metrics);
    expect(mr).toMatchObject({ live: true, memory_total: String(262_144 * MiB) });
    expect(mr["last_updated"]).toBeInstanceOf(Date);
    expect(await m.ok("host_metrics.get_live", metrics)).toBe(true);
    expect(await m.ok("host_metrics.get_memory_total", metrics)).toBe(String(262_144 * MiB));
  });

  it("VM reads include templates and control domains", async () => {
    const [vm] = sim.control.addVms("xs3", { memoryMiB: 2048 });
    const r = await m.ok<string>("VM.get_by_uuid", vm!.uuid);
    const all = await m.ok<Record<string, Record<string, unknown>>>("VM.get_all_records");
    expect(Object.keys(all)).toEqual(await m.ok<string[]>("VM.get_all"));
    expect(Object.values(all).filter((v) => v["is_control_domain"] === true)).toHaveLength(3);
    expect(Object.values(all).some((v) => v["is_a_template"] === true)).toBe(true);
    expect(all[r]).toMatchObject({ power_state: "Running", resident_on: ref.xs3, memory_static_max: String(2048 * MiB) });
    expect(await m.ok("VM.get_record", r)).toEqual(all[r]);
    expect(await m.ok("VM.get_by_name_label", vm!.name)).toEqual([r]);
    expect(await m.ok("VM.get_power_state", r)).toBe("Running");
    expect(await m.ok("VM.get_resident_on", r)).toBe(ref.xs3);
    expect(await m.ok("VM.get_memory_static_max", r)).toBe(String(2048 * MiB));
    expect(await m.ok("VM.get_is_control_domain", r)).toBe(false);
    expect(await m.ok("VM.get_is_a_template", r)).toBe(false);
    expect(await m.ok<string[]>("host.get_resident_VMs", ref.xs3)).toContain(r);
    await m.ok("VM.hard_shutdown", r);
    expect(await m.ok("VM.get_resident_on", r)).toBe("OpaqueRef:NULL");
    expect(await m.ok("VM.get_domid", r)).toBe("-1");
  });
});

describe("free memory (§8.21)", () => {
  it("compute_free_memory = host_metrics.memory_free = total − dom0 − Σ(VM memory + overhead)", async () => {
    sim.control.addVms("xs3", { count: 2, memoryMiB: 1024 });
    const expected = (262_144 - 4096 - 2 * (1024 + 1024 / 128 + 1)) * MiB;
    expect(Number(await m.ok("host.compute_free_memory", ref.xs3))).toBe(expected);
    const metrics = await m.ok<string>("host.get_metrics", ref.xs3);
    expect(Number(await m.ok("host_metrics.get_memory_free", metrics))).toBe(expected);
    expect(sim.control.host("xs3").memoryFreeBytes).toBe(expected);
  });
});

describe("host maintenance (§8.22)", () => {
  it("disable / enable toggle enabled, idempotently; auto_enable decides what a restart does", async () => {
    for (let i = 0; i < 2; i += 1) {
      expect(await m.ok("host.disable", ref.xs2)).toBe("");
      expect(await m.ok("host.get_enabled", ref.xs2)).toBe(false);
    }
    for (let i = 0; i < 2; i += 1) {
      expect(await m.ok("host.enable", ref.xs2)).toBe("");
      expect(await m.ok("host.get_enabled", ref.xs2)).toBe(true);
    }
    await m.ok("host.disable", ref.xs2, false);
    await sim.control.restartToolstack("xs2");
    await sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs2")?.connected);
    expect(await m.ok("host.get_enabled", ref.xs2)).toBe(false);
    await m.ok("host.disable", ref.xs2);
    await sim.control.restartToolstack("xs2");
    await sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs2")?.connected);
    expect(await m.ok("host.get_enabled", ref.xs2)).toBe(true);
  });

  it("plan errors: get_vms_which_prevent_evacuation map and assert_can_evacuate", async () => {
    expect(await m.ok("host.get_vms_which_prevent_evacuation", ref.xs1)).toEqual({});
    expect(await m.ok("host.assert_can_evacuate", ref.xs1)).toBe("");
    const [local] = sim.control.addVms("xs1", { localStorage: true, namePrefix: "local" });
    const [paused] = sim.control.addVms("xs1", { powerState: "Paused", namePrefix: "paused" });
    const l = await m.ok<string>("VM.get_by_uuid", local!.uuid);
    const p = await m.ok<string>("VM.get_by_uuid", paused!.uuid);
    const sr = await m.ok<string>("host.get_suspend_image_sr", ref.xs1);
    expect(await m.ok("host.get_vms_which_prevent_evacuation", ref.xs1)).toEqual({
      [l]: ["VM_REQUIRES_SR", l, sr],
      [p]: ["VM_BAD_POWER_STATE", p, "running", "paused"],
    });
    const e = await m.fail("host.assert_can_evacuate", ref.xs1);
    expect(e[0]).toBe("CANNOT_EVACUATE_HOST");
    expect(e[1]!.split("|").sort()).toEqual([`VM_BAD_POWER_STATE,${p},running,paused`, `VM_REQUIRES_SR,${l},${sr}`].sort());
    expect(await m.fail("host.evacuate", ref.xs1)).toEqual(expect.arrayContaining([expect.stringMatching(/^VM_/)]));
    await m.ok("VM.hard_shutdown", l);
    await m.ok("VM.hard_shutdown", p);
  });

  it("NO_HOSTS_AVAILABLE [vm] and HOST_NOT_ENOUGH_FREE_MEMORY [vm] (one parameter)", async () => {
    const [vm] = sim.control.addVms("xs1", { memoryMiB: 8192, namePrefix: "huge" });
    const r = await m.ok<string>("VM.get_by_uuid", vm!.uuid);
    await m.ok("host.disable", ref.xs2);
    await m.ok("host.disable", ref.xs3);
    const none = await m.fail("host.evacuate", ref.xs1);
    expect(none[0]).toBe("NO_HOSTS_AVAILABLE");
    expect(none).toHaveLength(2);
    await m.ok("host.enable", ref.xs2);
    sim.control.setHostFacts("xs2", { memoryMiB: 8192, dom0MemoryMiB: 2048 });
    try {
      expect(await m.ok("host.get_vms_which_prevent_evacuation", ref.xs1)).toEqual({ [r]: ["HOST_NOT_ENOUGH_FREE_MEMORY", r] });
      expect(await m.fail("host.evacuate", ref.xs1)).toEqual(["HOST_NOT_ENOUGH_FREE_MEMORY", r]);
    } finally {
      sim.control.setHostFacts("xs2", { memoryMiB: 262_144, dom0MemoryMiB: 4096 });
      await m.ok("host.enable", ref.xs3);
    }
    await m.ok("VM.hard_shutdown", r);
  });

  it("evacuate moves every resident guest to other enabled hosts in batches and leaves the host enabled", async () => {
    sim.control.addVms("xs2", { count: 12, memoryMiB: 1024, namePrefix: "evac" });
    const uuids = vmsOn("xs2").map((v) => v.uuid);
    expect(uuids).toHaveLength(12);
    await m.ok("host.disable", ref.xs3);
    const bound = sim.control.migrationLowerBound(uuids);
    const started = performance.now();
    const task = await m.ok<string>("Async.host.evacuate", ref.xs2, "OpaqueRef:NULL", 10);
    const status = await until(async () => {
      const s = await m.ok<string>("task.get_status", task);
      return s === "pending" ? undefined : s;
    });
    const elapsed = performance.now() - started;
    expect(status).toBe("success");
    expect(vmsOn("xs2")).toEqual([]);
    const moved = sim.control.state().vms.filter((v) => uuids.includes(v.uuid));
    expect(moved.every((v) => v.residentOn === "xs1" && v.powerState === "Running")).toBe(true);
    expect(await m.ok("host.get_enabled", ref.xs2)).toBe(true);
    // Two batches (10 + 2): one extra setup + downtime over the one-batch lower bound.
    expect(elapsed).toBeGreaterThanOrEqual(bound.realMs);
    expect(elapsed).toBeLessThan(bound.realMs * 2 + 100);
    expect(await m.ok("host.get_vms_which_prevent_evacuation", ref.xs2)).toEqual({});
    await m.ok("host.enable", ref.xs3);
  });
});
