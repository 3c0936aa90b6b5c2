import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "../../simulator/index.js";
import { PASSWORD, clientFor, connectionOutcome, joinPool, startTestSim, type Xapi } from "./helpers.js";

// docs/xenapi-notes.md §Simulator checklist, points 17–18 (facts in §Pool eject and §Designate new master).
// The §8.N in the test titles are the point numbers of that checklist.
let sim: Simulator;
let m: Xapi;
const EJECT_REAL_MS = 100;

beforeAll(async () => {
  sim = await startTestSim("127.0.0.100", { hosts: 5, ejectMs: EJECT_REAL_MS * 1000, designateMs: 50_000, rebootMs: 300_000 });
  await Promise.all(["xs2", "xs3", "xs4", "xs5"].map((h) => joinPool(sim, h, "xs1")));
  m = clientFor(sim, "xs1");
  await m.login();
});
afterAll(() => sim.close());

const hostRef = (name: string): Promise<string> => m.ok<string[]>("host.get_by_name_label", name).then((r) => r[0]!);

describe("pool.eject (§8.17)", () => {
  it("refuses the master, unknown hosts and hosts with resident running VMs", async () => {
    const master = await hostRef("xs1");
    expect(await m.fail("pool.eject", master)).toEqual(["INTERNAL_ERROR", "Xapi_pool.Cannot_eject_master"]);
    expect(await m.fail("pool.eject", "OpaqueRef:x")).toEqual(["HANDLE_INVALID", "host", "OpaqueRef:x"]);
    const [vm] = sim.control.addVms("xs2", { powerState: "Running" });
    sim.control.addVms("xs2", { powerState: "Halted", namePrefix: "halted" });
    expect(await m.fail("pool.eject", await hostRef("xs2"))).toEqual(["OPERATION_NOT_ALLOWED", "VM resident on host"]);
    expect(sim.control.state().vms.find((v) => v.uuid === vm!.uuid)?.residentOn).toBe("xs2");
  });

  it("refuses an offline host with HOST_OFFLINE [host]", async () => {
    const ref = await hostRef("xs5");
    await sim.control.power("xs5", false);
    expect(await m.fail("pool.eject", ref)).toEqual(["HOST_OFFLINE", ref]);
    sim.control.power("xs5", true);
    await sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs5")?.connected);
  });

  it("serialises concurrent ejects; each host reboots and returns as a fresh standalone master", async () => {
    const [ref3, ref4] = await Promise.all([hostRef("xs3"), hostRef("xs4")]);
    const before = sim.control.host("xs3");
    const seen: string[] = [];
    const stop = sim.control.onChange((s) => {
      const h = s.hosts.find((x) => x.name === "xs3")!;
      const tag = `${h.role}/${h.toolstack}`;
      if (seen.at(-1) !== tag) seen.push(tag);
    });
    const done: Record<string, number> = {};
    const started = performance.now();
    await Promise.all(
      [
        ["xs3", ref3],
        ["xs4", ref4],
      ].map(async ([name, ref]) => {
        expect(await m.ok("pool.eject", ref)).toBe("");
        done[name!] = performance.now() - started;
      }),
    );
    const [first, second] = Object.values(done).sort((a, b) => a - b);
    expect(first).toBeGreaterThanOrEqual(EJECT_REAL_MS - 2);
    expect(second! - first!).toBeGreaterThanOrEqual(EJECT_REAL_MS - 5);
    // The records vanish from the master at once.
    const hosts = await m.ok<string[]>("host.get_all");
    expect(hosts).not.toContain(ref3);
    expect(hosts).not.toContain(ref4);
    const dom0s = Object.values(await m.ok<Record<string, Record<string, unknown>>>("VM.get_all_records")).filter(
      (v) => v["is_control_domain"] === true,
    );
    expect(dom0s.map((v) => v["resident_on"])).not.toContain(ref3);
    // The host reboots (unreachable) ...
    await sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs3")?.toolstack === "down");
    expect(await connectionOutcome(before.url)).toBe("ECONNREFUSED");
    // ... and comes back standalone: same uuid, new pool with an empty name, only dom0 and templates.
    const after = await sim.control.waitFor((s) => {
      const h = s.hosts.find((x) => x.name === "xs3");
      return h?.toolstack === "up" ? h : undefined;
    });
    stop();
    expect(seen).toEqual(["slave/up", "master/down", "master/up"]);
    expect(after).toMatchObject({ role: "master", master: "xs3", uuid: before.uuid, poolName: "", live: true, enabled: true });
    expect(after.poolUuid).not.toBe(before.poolUuid);
    const c = clientFor(sim, "xs3");
    await c.login();
    const [self] = await c.ok<string[]>("host.get_all");
    expect(self).not.toBe(ref3);
    expect(await c.ok("host.get_uuid", self)).toBe(before.uuid);
    const vms = Object.values(await c.ok<Record<string, Record<string, unknown>>>("VM.get_all_records"));
    expect(vms.filter((v) => v["is_control_domain"] !== true && v["is_default_template"] !== true)).toEqual([]);
    expect(vms.filter((v) => v["is_control_domain"] === true)).toHaveLength(1);
    await sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs4")?.role === "master");
  });
});

describe("pool.designate_new_master (§8.18)", () => {
  it("the current master is a no-op; unknown → HANDLE_INVALID; offline → HOST_OFFLINE", async () => {
    expect(await m.ok("pool.designate_new_master", await hostRef("xs1"))).toBe("");
    expect(sim.control.host("xs1").restartPending).toBe(false);
    expect(await m.fail("pool.designate_new_master", "OpaqueRef:x")).toEqual(["HANDLE_INVALID", "host", "OpaqueRef:x"]);
    const ref5 = await hostRef("xs5");
    await sim.control.power("xs5", false);
    expect(await m.fail("pool.designate_new_master", ref5)).toEqual(["HOST_OFFLINE", ref5]);
  });

  it("hands over: concurrent calls refused, all hosts restart, new master, old one is a slave, VMs unchanged", async () => {
    const ref2 = await hostRef("xs2");
    const vmsBefore = sim.control.state().vms.map((v) => [v.uuid, v.residentOn, v.powerState]);
    const sessionBefore = m.session;
    const call = m.ok("pool.designate_new_master", ref2);
    // While it runs: a second designate or an eject is refused.
    await sim.control.waitFor((s) => s.pools.some((p) => p.operation === "designate_new_master"));
    expect(await m.fail("pool.designate_new_master", ref2)).toEqual(["DESIGNATE_NEW_MASTER_IN_PROGRESS"]);
    expect(await m.fail("pool.eject", ref2)).toEqual(["DESIGNATE_NEW_MASTER_IN_PROGRESS"]);
    expect(await call).toBe("");
    await sim.control.waitFor((s) => {
      const x1 = s.hosts.find((h) => h.name === "xs1");
      const x2 = s.hosts.find((h) => h.name === "xs2");
      return x1?.role === "slave" && x1.toolstack === "up" && x1.connected && x2?.role === "master" && x2.toolstack === "up";
    });
    const old = clientFor(sim, "xs1");
    expect((await old.call("session.login_with_password", "root", PASSWORD)).ErrorDescription).toEqual([
      "HOST_IS_SLAVE",
      sim.control.host("xs2").address,
    ]);
    const n = clientFor(sim, "xs2");
    n.session = sessionBefore;
    expect(await n.fail("pool.get_all")).toEqual(["SESSION_INVALID", sessionBefore]);
    await n.login();
    const [pool] = await n.ok<string[]>("pool.get_all");
    expect(await n.ok("pool.get_master", pool)).toBe(ref2);
    expect(await n.ok("host.get_name_label", await n.ok("pool.get_master", pool))).toBe("xs2");
    expect(sim.control.state().vms.map((v) => [v.uuid, v.residentOn, v.powerState])).toEqual(vmsBefore);
  });
});

describe("pool.designate_new_master right after pool.eject (§8.18)", () => {
  let s: Simulator;
  let x: Xapi;
  beforeAll(async () => {
    // The designate commits (designateMs) while the ejected host is still in its fuse (fuseMs) before its reboot.
    s = await startTestSim("127.0.7.10", { hosts: 3, timeScale: 0.01, designateMs: 1000, fuseMs: 10_000 });
    await Promise.all(["xs2", "xs3"].map((h) => joinPool(s, h, "xs1")));
    x = clientFor(s, "xs1");
    await x.login();
  });
  afterAll(() => s.close());

  it("takes the members from the pool database: a host ejected moments earlier is not rewritten as a member", async () => {
    const ref = async (name: string) => (await x.ok<string[]>("host.get_by_name_label", name))[0]!;
    const [ref2, ref3] = [await ref("xs2"), await ref("xs3")];
    expect(await x.ok("pool.eject", ref3)).toBe("");
    // Still in its fuse: up, connected to the old master, but no longer in the pool database.
    expect(s.control.host("xs3")).toMatchObject({ toolstack: "up", role: "slave", restartPending: true });
    expect(await x.ok("pool.designate_new_master", ref2)).toBe("");
    const settled = await s.control.waitFor((st) => {
      const [x1, x2, x3] = ["xs1", "xs2", "xs3"].map((n) => st.hosts.find((h) => h.name === n)!);
      return x1!.toolstack === "up" && x1!.connected && x2!.toolstack === "up" && x2!.role === "master" && x3!.toolstack === "up" && !x3!.restartPending ? st : undefined;
    }, 20_000);
    const xs3 = settled.hosts.find((h) => h.name === "xs3")!;
    // The ejected host came back a fresh standalone master, not a slave its new master does not know (HOST_UNKNOWN_TO_MASTER).
    expect(xs3).toMatchObject({ role: "master", emergency: false });
    expect(xs3.poolUuid).not.toBe(s.control.host("xs2").poolUuid);
    expect(s.control.host("xs1")).toMatchObject({ role: "slave", master: "xs2", connected: true });
    expect(settled.pools.find((p) => p.master === "xs2")?.hosts.slice().sort()).toEqual(["xs1", "xs2"]);
  });
});
