import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator, SimulatorState } from "../../simulator/index.js";
import { PASSWORD, clientFor, connectionOutcome, joinPool, startTestSim } from "./helpers.js";

// docs/xenapi-notes.md §Simulator checklist, point 19 (facts in §Emergency mode and §Master failure and emergency calls).
// The §8.N in the test titles are the point numbers of that checklist.
let sim: Simulator;
const ADDR = { xs1: "127.0.0.130", xs2: "127.0.0.131" };

const host = (s: SimulatorState, name: string) => s.hosts.find((h) => h.name === name)!;

beforeAll(async () => {
  sim = await startTestSim("127.0.0.130", { hosts: 4, masterLostGraceMs: 300_000 });
  await Promise.all(["xs2", "xs3", "xs4"].map((h) => joinPool(sim, h, "xs1")));
  sim.control.addVms("xs1", { count: 2 });
  sim.control.addVms("xs2", { count: 1 });
});
afterAll(() => sim.close());

describe("master restart within the grace period", () => {
  it("slaves reconnect without entering emergency mode", async () => {
    let emergency = false;
    const stop = sim.control.onChange((s) => {
      if (s.hosts.some((h) => h.emergency)) emergency = true;
    });
    await sim.control.restartToolstack("xs1");
    expect(host(sim.control.state(), "xs2").connected).toBe(false);
    await sim.control.waitFor((s) => ["xs2", "xs3", "xs4"].every((n) => host(s, n).connected && host(s, n).live));
    stop();
    expect(emergency).toBe(false);
  });
});

describe("master death and manual recovery (§8.19)", () => {
  it("slaves answer HOST_IS_SLAVE [dead master] during the grace period, then go into emergency mode", async () => {
    await sim.control.power("xs1", false);
    expect(await connectionOutcome(`http://${ADDR.xs1}:${sim.port}/`)).toBe("ECONNREFUSED");
    const s2 = clientFor(sim, "xs2");
    expect((await s2.call("session.login_with_password", "root", PASSWORD)).ErrorDescription).toEqual(["HOST_IS_SLAVE", ADDR.xs1]);
    expect(host(sim.control.state(), "xs2").emergency).toBe(false);
    await sim.control.waitFor((s) => ["xs2", "xs3", "xs4"].every((n) => host(s, n).emergency));
    expect((await s2.call("session.login_with_password", "root", PASSWORD)).ErrorDescription).toEqual(["HOST_STILL_BOOTING"]);
    await s2.localLogin();
    expect(await s2.fail("host.get_all")).toEqual(["HOST_STILL_BOOTING"]);
    expect(await s2.ok("host.is_in_emergency_mode")).toBe(true);
  });

  it("emergency_transition_to_master refuses with HA and needs a session", async () => {
    const s4 = clientFor(sim, "xs4");
    s4.session = "OpaqueRef:bogus";
    expect(await s4.fail("pool.emergency_transition_to_master")).toEqual(["SESSION_INVALID", "OpaqueRef:bogus"]);
    await s4.localLogin();
    sim.control.setHostFacts("xs4", { haEnabled: true });
    expect(await s4.fail("pool.emergency_transition_to_master")).toEqual(["HA_IS_ENABLED"]);
    sim.control.setHostFacts("xs4", { haEnabled: false });
    expect(await s4.fail("Async.pool.emergency_transition_to_master")).toEqual([
      "Fault",
      "No async mode for this operation (rpc: Async.pool.emergency_transition_to_master)",
    ]);
  });

  it("emergency_transition_to_master promotes a slave after fuse + restart; the dead master stays listed, not live", async () => {
    const s2 = clientFor(sim, "xs2");
    await s2.localLogin();
    expect(await s2.ok("pool.emergency_transition_to_master")).toBe("");
    await sim.control.waitFor((s) => host(s, "xs2").role === "master" && host(s, "xs2").toolstack === "up");
    await s2.login();
    const [pool] = await s2.ok<string[]>("pool.get_all");
    const master = await s2.ok<string>("pool.get_master", pool);
    expect(await s2.ok("host.get_name_label", master)).toBe("xs2");
    const hosts = await s2.ok<Record<string, Record<string, unknown>>>("host.get_all_records");
    expect(Object.values(hosts).map((h) => h["name_label"]).sort()).toEqual(["xs1", "xs2", "xs3", "xs4"]);
    const [dead] = await s2.ok<string[]>("host.get_by_name_label", "xs1");
    expect(await s2.ok("host_metrics.get_live", await s2.ok("host.get_metrics", dead))).toBe(false);
    // The dead master's VMs still look Running there.
    const vms = Object.values(await s2.ok<Record<string, Record<string, unknown>>>("VM.get_all_records")).filter(
      (v) => v["resident_on"] === dead && v["is_control_domain"] === false,
    );
    expect(vms).toHaveLength(2);
    expect(vms.every((v) => v["power_state"] === "Running")).toBe(true);
    // Other slaves are still in emergency mode.
    expect(host(sim.control.state(), "xs3").emergency).toBe(true);
  });

  it("recover_slaves repoints every reachable host and returns them", async () => {
    const s2 = clientFor(sim, "xs2");
    await s2.login();
    const recovered = await s2.ok<string[]>("pool.recover_slaves");
    const names = await Promise.all(recovered.map((r) => s2.ok<string>("host.get_name_label", r)));
    expect(names.sort()).toEqual(["xs3", "xs4"]);
    await sim.control.waitFor((s) =>
      ["xs3", "xs4"].every((n) => host(s, n).connected && !host(s, n).emergency && host(s, n).master === "xs2" && host(s, n).live),
    );
    expect((await clientFor(sim, "xs3").call("session.login_with_password", "root", PASSWORD)).ErrorDescription).toEqual([
      "HOST_IS_SLAVE",
      ADDR.xs2,
    ]);
  });

  it("a returning old master is a second master until emergency_reset_master repoints it", async () => {
    sim.control.power("xs1", true);
    const split = await sim.control.waitFor((s) => (host(s, "xs1").toolstack === "up" ? s : undefined));
    expect(host(split, "xs1").role).toBe("master");
    expect(split.pools.filter((p) => p.uuid === host(split, "xs2").poolUuid)).toHaveLength(2);
    const s1 = clientFor(sim, "xs1");
    await s1.localLogin();
    expect(await s1.ok("pool.emergency_reset_master", ADDR.xs2)).toBe("");
    await sim.control.waitFor((s) => host(s, "xs1").role === "slave" && host(s, "xs1").connected && host(s, "xs1").live);
    expect((await s1.call("session.login_with_password", "root", PASSWORD)).ErrorDescription).toEqual(["HOST_IS_SLAVE", ADDR.xs2]);
    const state = sim.control.state();
    expect(state.pools).toHaveLength(1);
    // xs1 crashed: the VMs it ran are halted now.
    expect(state.vms.filter((v) => v.residentOn === "xs1")).toEqual([]);
  });
});

describe("automatic recovery and configurable emergency error", () => {
  let other: Simulator;
  afterAll(() => other?.close());

  it("an emergency-mode slave reconnects by itself when its master comes back", async () => {
    other = await startTestSim("127.0.0.140", { hosts: 2, emergencyError: ["HOST_MASTER_CANNOT_TALK_BACK", "127.0.0.140"] });
    await joinPool(other, "xs2", "xs1");
    await other.control.power("xs1", false);
    await other.control.waitFor((s) => host(s, "xs2").emergency);
    expect((await clientFor(other, "xs2").call("session.login_with_password", "root", PASSWORD)).ErrorDescription).toEqual([
      "HOST_MASTER_CANNOT_TALK_BACK",
      "127.0.0.140",
    ]);
    other.control.power("xs1", true);
    await other.control.waitFor((s) => host(s, "xs2").connected && !host(s, "xs2").emergency && host(s, "xs2").live);
  });
});
