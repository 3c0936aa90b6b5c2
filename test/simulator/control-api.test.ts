import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator, SimulatorState } from "../../simulator/index.js";
import { PASSWORD, clientFor, connectionOutcome, joinPool, methodCallXml, post, startTestSim, until } from "./helpers.js";

let sim: Simulator;

async function control(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${sim.controlUrl}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  sim = await startTestSim("127.0.0.220", { hosts: 2, vmsPerHost: 3 });
});
afterAll(() => sim.close());

describe("control API over HTTP", () => {
  it("GET /state lists hosts and VMs with the documented fields", async () => {
    expect(sim.controlUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const { status, json } = await control("GET", "/state");
    expect(status).toBe(200);
    const state = json as unknown as SimulatorState;
    expect(state.hosts.map((h) => h.name)).toEqual(["xs1", "xs2"]);
    expect(state.hosts[0]).toMatchObject({
      name: "xs1",
      address: "127.0.0.220",
      url: `http://127.0.0.220:${sim.port}/`,
      role: "master",
      master: "xs1",
      enabled: true,
      live: true,
      memoryTotalMiB: 262_144,
      poolName: "",
      emergency: false,
    });
    expect(state.hosts[0]!.memoryFreeMiB).toBeLessThan(262_144 - 4096);
    expect(state.vms).toHaveLength(6);
    expect(state.vms[0]).toMatchObject({ powerState: "Running", residentOn: "xs1", localStorage: false, memoryMiB: 1024 });
    expect(state.vms.map((v) => v.memoryMiB).slice(0, 3)).toEqual([1024, 2048, 4096]);
  });

  it("POST /hosts adds a standalone host with facts; bad requests get 400/404/409", async () => {
    const created = await control("POST", "/hosts", { name: "extra", memoryMiB: 65536, cpuVendor: "AuthenticAMD", apiVersionMinor: 22 });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ name: "extra", address: "127.0.0.222", role: "master", memoryTotalMiB: 65536 });
    expect((created.json["facts"] as Record<string, unknown>)["cpuVendor"]).toBe("AuthenticAMD");
    const c = clientFor(sim, "extra");
    await c.login();
    expect(await c.ok("host.get_API_version_minor", (await c.ok<string[]>("host.get_all"))[0])).toBe("22");
    expect((await control("POST", "/hosts", { name: "extra" })).status).toBe(409);
    expect((await control("POST", "/hosts", { name: "bad name" })).status).toBe(400);
    expect((await control("POST", "/hosts", { name: "x9", memoryMiB: -1 })).status).toBe(400);
    expect((await control("POST", "/hosts", { name: "x9", bogus: 1 })).status).toBe(400);
    expect((await control("POST", "/hosts", "{not json")).status).toBe(400);
    expect((await control("POST", "/hosts", [1])).status).toBe(400);
    expect((await control("GET", "/hosts/nope")).status).toBe(404);
    expect((await control("GET", "/nowhere")).status).toBe(404);
    expect((await control("DELETE", "/state")).status).toBe(405);
    const patched = await control("PATCH", "/hosts/extra", { haEnabled: true });
    expect(patched.status).toBe(200);
    expect((patched.json["facts"] as Record<string, unknown>)["haEnabled"]).toBe(true);
    expect((await control("PATCH", "/hosts/extra", { haEnabled: "yes" })).status).toBe(400);
  });

  it("POST /hosts/{name}/vms creates VMs; validates the body", async () => {
    const res = await control("POST", "/hosts/xs2/vms", { count: 2, memoryMiB: 512, powerState: "Halted", localStorage: true });
    expect(res.status).toBe(201);
    const vms = res.json["vms"] as Record<string, unknown>[];
    expect(vms).toHaveLength(2);
    expect(vms[0]).toMatchObject({ powerState: "Halted", residentOn: null, memoryMiB: 512, localStorage: true });
    expect((await control("POST", "/hosts/xs2/vms", { count: 0 })).status).toBe(400);
    expect((await control("POST", "/hosts/xs2/vms", { powerState: "Exploded" })).status).toBe(400);
    expect((await control("POST", "/hosts/xs2/vms", { colour: "red" })).status).toBe(400);
    expect((await control("POST", "/hosts/ghost/vms", {})).status).toBe(404);
    expect((await control("POST", "/hosts/xs2/vms", { count: 1000, memoryMiB: 4_000_000 })).status).toBe(409);
  });

  it("POST /hosts/{name}/power crashes (connections refused, in-flight calls reset) and boots a host", async () => {
    const url = sim.hosts.find((h) => h.name === "xs2")!.url;
    expect((await control("POST", "/hosts/xs2/faults", { method: "pool.get_all", hang: true })).status).toBe(201);
    const c = clientFor(sim, "xs2");
    await c.login();
    const hanging = post(url, methodCallXml("pool.get_all", [c.session])).then(
      () => "answered",
      (e: NodeJS.ErrnoException) => e.code,
    );
    await sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs2")?.faults === 0);
    const off = await control("POST", "/hosts/xs2/power", { on: false });
    expect(off.json).toMatchObject({ power: "off", toolstack: "off" });
    expect(await hanging).toBe("ECONNRESET");
    expect(await connectionOutcome(url)).toBe("ECONNREFUSED");
    expect((await control("POST", "/hosts/xs2/power", { on: "yes" })).status).toBe(400);
    expect((await control("POST", "/hosts/xs2/restart-toolstack")).status).toBe(409);
    expect((await control("POST", "/hosts/xs2/power", { on: true })).json).toMatchObject({ power: "on", toolstack: "down" });
    await sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs2")?.toolstack === "up");
    expect(await connectionOutcome(url)).toBe("connected");
    // Its running VMs died in the crash.
    expect(sim.control.state().vms.filter((v) => v.residentOn === "xs2")).toEqual([]);
  });

  it("faults: the next N calls fail with the given error, then normal service; DELETE clears", async () => {
    const c = clientFor(sim, "xs1");
    await c.login();
    const res = await control("POST", "/hosts/xs1/faults", { method: "host.get_all", error: ["HOST_OFFLINE", "OpaqueRef:x"], count: 2 });
    expect(res.status).toBe(201);
    expect(await c.fail("host.get_all")).toEqual(["HOST_OFFLINE", "OpaqueRef:x"]);
    expect(await c.fail("host.get_all")).toEqual(["HOST_OFFLINE", "OpaqueRef:x"]);
    expect(await c.ok<string[]>("host.get_all")).toHaveLength(1);
    await control("POST", "/hosts/xs1/faults", { method: "*", error: ["INTERNAL_ERROR", "boom"], count: 5 });
    expect(await c.fail("pool.get_all")).toEqual(["INTERNAL_ERROR", "boom"]);
    expect((await control("DELETE", "/hosts/xs1/faults")).json).toMatchObject({ faults: 0 });
    expect(await c.ok<string[]>("pool.get_all")).toHaveLength(1);
    expect((await control("POST", "/hosts/xs1/faults", { method: "x" })).status).toBe(400);
    expect((await control("POST", "/hosts/xs1/faults", { method: "x", error: [] })).status).toBe(400);
    expect((await control("POST", "/hosts/xs1/faults", { method: "x", hang: true, error: ["A"] })).status).toBe(400);
    expect((await control("POST", "/hosts/xs1/faults", { method: "x", error: ["A"], count: 0 })).status).toBe(400);
  });

  it("faults: delay, async task failure, and the master-side login during pool.join", async () => {
    const c = clientFor(sim, "xs1");
    await c.login();
    await control("POST", "/hosts/xs1/faults", { method: "pool.get_all", delayMs: 50_000 });
    const started = performance.now();
    await c.ok("pool.get_all");
    expect(performance.now() - started).toBeGreaterThanOrEqual(48);
    const vm = (await c.ok<string[]>("VM.get_by_name_label", "xs1-vm01"))[0];
    const host = (await c.ok<string[]>("host.get_all"))[0];
    await control("POST", "/hosts/xs1/faults", { method: "VM.pool_migrate", error: ["VM_MIGRATE_FAILED", "a", "b", "c", "d"] });
    const task = await c.ok<string>("Async.VM.pool_migrate", vm, host, {});
    const status = await until(async () => {
      const s = await c.ok<string>("task.get_status", task);
      return s === "pending" ? undefined : s;
    });
    expect(status).toBe("failure");
    expect(await c.ok("task.get_error_info", task)).toEqual(["VM_MIGRATE_FAILED", "a", "b", "c", "d"]);
    await control("POST", "/hosts/xs1/faults", { method: "session.login_with_password", error: ["HOST_STILL_BOOTING"] });
    const j = clientFor(sim, "extra");
    await j.login();
    sim.control.setHostFacts("extra", { haEnabled: false, cpuVendor: "GenuineIntel", apiVersionMinor: 21 });
    expect(await j.fail("pool.join", "127.0.0.220", "root", PASSWORD)).toEqual(["HOST_STILL_BOOTING"]);
  });

  it("POST /migration-lower-bound computes the bandwidth bound", async () => {
    const res = await control("POST", "/migration-lower-bound", { host: "xs1" });
    expect(res.status).toBe(200);
    const mem = sim.control.state().vms.filter((v) => v.residentOn === "xs1").reduce((s, v) => s + v.memoryMiB, 0);
    expect(res.json["nominalMs"]).toBeCloseTo(2000 + (mem / 110) * 1000 + 150, 3);
    expect(res.json["realMs"]).toBeCloseTo((res.json["nominalMs"] as number) * 0.001, 6);
    expect((await control("POST", "/migration-lower-bound", { vms: ["nope"] })).status).toBe(404);
    expect((await control("POST", "/migration-lower-bound", {})).status).toBe(400);
  });
});

describe("state file", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "fake-xapi-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("saves atomically on change and reloads hosts, pools, VMs; settles in-flight work", async () => {
    const file = join(dir, "state.json");
    const opts = { hosts: 3, stateFile: file, fuseMs: 200_000, linkBandwidthMiBps: 1 };
    const first = await startTestSim("127.0.0.230", opts);
    await joinPool(first, "xs2", "xs1");
    first.control.addVms("xs1", { count: 2, memoryMiB: 1024 });
    const m = clientFor(first, "xs1");
    await m.login();
    const [pool] = await m.ok<string[]>("pool.get_all");
    await m.ok("pool.set_name_label", pool, "persisted");
    // In flight at shutdown: a slow migration (1 MiB/s) and xs3's join (fuse 200 ms).
    const vm = (await m.ok<string[]>("VM.get_by_name_label", "xs1-vm01"))[0];
    const xs2 = (await m.ok<string[]>("host.get_by_name_label", "xs2"))[0];
    const task = await m.ok<string>("Async.VM.pool_migrate", vm, xs2, {});
    const j = clientFor(first, "xs3");
    await j.login();
    await j.ok("pool.join", "127.0.0.230", "root", PASSWORD);
    const before = first.control.state();
    await first.close();
    expect((await readdir(dir)).filter((f) => f.includes(".tmp"))).toEqual([]);
    const saved = JSON.parse(await readFile(file, "utf8")) as { machines: unknown[] };
    expect(saved.machines).toHaveLength(3);

    const second = await startTestSim("127.0.0.230", { ...opts, hosts: 0 });
    try {
      const after = await second.control.waitFor((s) => (s.hosts.every((h) => h.connected) ? s : undefined));
      expect(after.hosts.map((h) => [h.name, h.uuid, h.address])).toEqual(before.hosts.map((h) => [h.name, h.uuid, h.address]));
      expect(after.hosts.map((h) => [h.name, h.role, h.master])).toEqual([
        ["xs1", "master", "xs1"],
        ["xs2", "slave", "xs1"],
        ["xs3", "slave", "xs1"],
      ]);
      expect(after.hosts[0]!.poolName).toBe("persisted");
      const moved = after.vms.find((v) => v.name === "xs1-vm01");
      expect(moved).toMatchObject({ residentOn: "xs2", powerState: "Running", migratingTo: null });
      const c = clientFor(second, "xs1");
      await c.login();
      expect(await c.ok("task.get_status", task)).toBe("success");
      expect((await c.ok<string[]>("host.get_all")).length).toBe(3);
    } finally {
      await second.close();
    }
  });
});
