import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HostFacts, Simulator } from "../../simulator/index.js";
import { PASSWORD, clientFor, connectionOutcome, joinPool, startTestSim } from "./helpers.js";

// docs/xenapi-notes.md §Simulator checklist, points 13–16 (facts in §Pool join).
// The §8.N in the test titles are the point numbers of that checklist.
let sim: Simulator;
const MASTER = "127.0.0.70";
let nextName = 0;

beforeAll(async () => {
  sim = await startTestSim(MASTER, { hosts: 2, fuseMs: 100_000, restartMs: 100_000 });
  await sim.control.addVms("xs1", { count: 2 });
  await joinPool(sim, "xs2", "xs1");
});
afterAll(() => sim.close());

/** A new standalone host with the given facts; returns its name. */
async function standalone(facts: Partial<HostFacts> = {}): Promise<string> {
  nextName += 1;
  const name = `j${nextName}`;
  await sim.control.addHost({ name, ...facts });
  return name;
}

async function joinError(joiner: string, address = MASTER, password = PASSWORD, force = false): Promise<string[]> {
  const c = clientFor(sim, joiner);
  await c.login();
  return c.fail(force ? "pool.join_force" : "pool.join", address, "root", password);
}

describe("standalone hosts (§8.13)", () => {
  it("a standalone host is the master of its own 1-host pool with a dom0", async () => {
    const name = await standalone();
    const c = clientFor(sim, name);
    await c.login();
    const [pool] = await c.ok<string[]>("pool.get_all");
    const master = await c.ok<string>("pool.get_master", pool);
    expect(await c.ok("host.get_all")).toEqual([master]);
    expect(await c.ok("pool.get_name_label", pool)).toBe("");
    const vms = await c.ok<Record<string, Record<string, unknown>>>("VM.get_all_records");
    const dom0 = Object.values(vms).filter((v) => v["is_control_domain"] === true);
    expect(dom0).toHaveLength(1);
    expect(dom0[0]).toMatchObject({ resident_on: master, power_state: "Running", domid: "0", name_label: `Control domain on host: ${name}` });
    expect(Object.values(vms).some((v) => v["is_a_template"] === true && v["is_default_template"] === true)).toBe(true);
  });
});

describe("login to the master during join (§8.14)", () => {
  it("master endpoint down or absent → JOINING_HOST_CONNECTION_FAILED []", async () => {
    expect(await joinError(await standalone(), "127.0.0.99")).toEqual(["JOINING_HOST_CONNECTION_FAILED"]);
    const dead = await standalone();
    await sim.control.power(dead, false);
    expect(await joinError(await standalone(), sim.control.host(dead).address)).toEqual(["JOINING_HOST_CONNECTION_FAILED"]);
  });

  it("wrong credentials propagate SESSION_AUTHENTICATION_FAILED", async () => {
    expect(await joinError(await standalone(), MASTER, "nope")).toEqual(["SESSION_AUTHENTICATION_FAILED", "root", "Authentication failure"]);
  });

  it("a slave's address propagates HOST_IS_SLAVE [real master]", async () => {
    expect(await joinError(await standalone(), "127.0.0.71")).toEqual(["HOST_IS_SLAVE", MASTER]);
  });
});

describe("pre-join checks (§8.15)", () => {
  it("self-join → OPERATION_NOT_ALLOWED, worded by pool size", async () => {
    const alone = await standalone();
    expect(await joinError(alone, sim.control.host(alone).address)).toEqual(["OPERATION_NOT_ALLOWED", "Host cannot become slave of itself"]);
    expect(await joinError("xs1", MASTER)).toEqual(["OPERATION_NOT_ALLOWED", "Host is already part of a pool"]);
  });

  it("a master of other hosts → JOINING_HOST_CANNOT_BE_MASTER_OF_OTHER_HOSTS", async () => {
    const other = await standalone();
    expect(await joinError("xs1", sim.control.host(other).address)).toEqual(["JOINING_HOST_CANNOT_BE_MASTER_OF_OTHER_HOSTS"]);
  });

  it("running non-dom0 VM → JOINING_HOST_CANNOT_HAVE_RUNNING_VMS", async () => {
    const name = await standalone();
    sim.control.addVms(name, { count: 1, powerState: "Running" });
    expect(await joinError(name)).toEqual(["JOINING_HOST_CANNOT_HAVE_RUNNING_VMS"]);
  });

  it("platform version or brand differ → HOSTS_NOT_COMPATIBLE (even with join_force)", async () => {
    expect(await joinError(await standalone({ platformVersion: "3.2.1" }))).toEqual(["HOSTS_NOT_COMPATIBLE"]);
    expect(await joinError(await standalone({ productBrand: "XCP-ng" }), MASTER, PASSWORD, true)).toEqual(["HOSTS_NOT_COMPATIBLE"]);
  });

  it("software version / CPU vendor differ → HOSTS_NOT_HOMOGENEOUS [reason] unless join_force", async () => {
    expect(await joinError(await standalone({ softwareVersion: "24.0.0" }))).toEqual(["HOSTS_NOT_HOMOGENEOUS", "Software version differs"]);
    expect(await joinError(await standalone({ cpuVendor: "AuthenticAMD" }))).toEqual(["HOSTS_NOT_HOMOGENEOUS", "CPUs differ"]);
  });

  it("shared SR → JOINING_HOST_CANNOT_CONTAIN_SHARED_SRS", async () => {
    expect(await joinError(await standalone({ hasSharedSr: true }))).toEqual(["JOINING_HOST_CANNOT_CONTAIN_SHARED_SRS"]);
  });

  it("API version → POOL_JOINING_HOST_MUST_HAVE_SAME_API_VERSION [joiner, master]", async () => {
    expect(await joinError(await standalone({ apiVersionMinor: 23 }))).toEqual([
      "POOL_JOINING_HOST_MUST_HAVE_SAME_API_VERSION",
      "2.23",
      "2.21",
    ]);
  });

  it("DB schema → POOL_JOINING_HOST_MUST_HAVE_SAME_DB_SCHEMA [joiner, master]", async () => {
    expect(await joinError(await standalone({ dbSchema: "5.603" }))).toEqual(["POOL_JOINING_HOST_MUST_HAVE_SAME_DB_SCHEMA", "5.603", "5.786"]);
  });

  it("HA on the joiner or on the pool → HA_IS_ENABLED", async () => {
    expect(await joinError(await standalone({ haEnabled: true }))).toEqual(["HA_IS_ENABLED"]);
    sim.control.setHostFacts("xs1", { haEnabled: true });
    try {
      expect(await joinError(await standalone())).toEqual(["HA_IS_ENABLED"]);
    } finally {
      sim.control.setHostFacts("xs1", { haEnabled: false });
    }
  });

  it("checks run in xapi's order (first failure wins)", async () => {
    const name = await standalone({
      haEnabled: true,
      platformVersion: "9",
      softwareVersion: "1",
      hasSharedSr: true,
      apiVersionMinor: 1,
      dbSchema: "1",
    });
    sim.control.addVms(name, { powerState: "Running" });
    const order = [
      ["HA_IS_ENABLED"],
      ["JOINING_HOST_CANNOT_HAVE_RUNNING_VMS"],
      ["HOSTS_NOT_COMPATIBLE"],
      ["HOSTS_NOT_HOMOGENEOUS", "Software version differs"],
      ["JOINING_HOST_CANNOT_CONTAIN_SHARED_SRS"],
      ["POOL_JOINING_HOST_MUST_HAVE_SAME_API_VERSION", "2.1", "2.21"],
      ["POOL_JOINING_HOST_MUST_HAVE_SAME_DB_SCHEMA", "1", "5.786"],
    ];
    const stopRunningVms = async (): Promise<void> => {
      const c = clientFor(sim, name);
      await c.login();
      for (const vm of await c.ok<string[]>("VM.get_all")) {
        if ((await c.ok("VM.get_power_state", vm)) === "Running" && !(await c.ok("VM.get_is_control_domain", vm))) {
          await c.ok("VM.hard_shutdown", vm);
        }
      }
    };
    const fixes: (() => unknown)[] = [
      () => sim.control.setHostFacts(name, { haEnabled: false }),
      stopRunningVms,
      () => sim.control.setHostFacts(name, { platformVersion: "3.4.0" }),
      () => sim.control.setHostFacts(name, { softwareVersion: "25.6.0" }),
      () => sim.control.setHostFacts(name, { hasSharedSr: false }),
      () => sim.control.setHostFacts(name, { apiVersionMinor: 21 }),
      () => sim.control.setHostFacts(name, { dbSchema: "5.786" }),
    ];
    for (let i = 0; i < order.length; i += 1) {
      expect(await joinError(name)).toEqual(order[i]);
      await fixes[i]!();
    }
  });
});

describe("successful join (§8.16)", () => {
  it("returns '' at once, the master lists the host disabled/dead/0 memory, then after fuse + restart it is a live slave", async () => {
    const name = await standalone();
    sim.control.addVms(name, { count: 2, powerState: "Halted" });
    sim.control.addVms(name, { count: 1, powerState: "Suspended", namePrefix: "susp" });
    const joinerUuid = sim.control.host(name).uuid;
    const seen: string[] = [];
    const stop = sim.control.onChange((s) => {
      const h = s.hosts.find((x) => x.name === name)!;
      const tag = `${h.role}/${h.toolstack}`;
      if (seen.at(-1) !== tag) seen.push(tag);
    });
    const j = clientFor(sim, name);
    await j.login();
    const m = clientFor(sim, "xs1");
    await m.login();
    expect(await j.ok("pool.join", MASTER, "root", PASSWORD)).toBe("");

    // Immediately: listed on the master, enabled=false, live=false, memory_total=0; halted VMs copied.
    const ref = await m.ok<string>("host.get_by_uuid", joinerUuid);
    expect(await m.ok("host.get_enabled", ref)).toBe(false);
    const metrics = await m.ok<string>("host.get_metrics", ref);
    expect(await m.ok("host_metrics.get_live", metrics)).toBe(false);
    expect(await m.ok("host_metrics.get_memory_total", metrics)).toBe("0");
    const names = Object.values(await m.ok<Record<string, Record<string, unknown>>>("VM.get_all_records")).map((v) => v["name_label"]);
    expect(names).toEqual(expect.arrayContaining([`${name}-vm01`, `${name}-vm02`, "susp-vm01"]));
    // The joiner still answers as its own master during the fuse.
    expect(await j.ok<string[]>("host.get_all")).toHaveLength(1);

    // After the fuse the endpoint goes down (connections refused) ...
    await sim.control.waitFor((s) => s.hosts.find((h) => h.name === name)?.toolstack === "down");
    expect(await connectionOutcome(j.url)).toBe("ECONNREFUSED");
    // ... then it answers as a slave, and the master flips it live and enabled.
    await sim.control.waitFor((s) => {
      const h = s.hosts.find((x) => x.name === name);
      return h?.toolstack === "up" && h.live && h.enabled;
    });
    stop();
    expect(seen).toEqual(["master/up", "slave/down", "slave/up"]);
    expect((await j.call("session.login_with_password", "root", PASSWORD)).ErrorDescription).toEqual(["HOST_IS_SLAVE", MASTER]);
    expect(await j.fail("host.get_all")).toEqual(["HOST_IS_SLAVE", MASTER]);
    await m.login(); // the master did not restart; its sessions stay valid, but be safe
    expect(await m.ok("host.get_enabled", ref)).toBe(true);
    expect(await m.ok("host_metrics.get_live", metrics)).toBe(true);
    expect(Number(await m.ok("host_metrics.get_memory_total", metrics))).toBeGreaterThan(0);
    expect(await m.ok<string[]>("host.get_all")).toContain(ref);
    const records = Object.values(await m.ok<Record<string, Record<string, unknown>>>("VM.get_all_records"));
    expect(records.filter((v) => v["is_control_domain"] === true && v["resident_on"] === ref)).toHaveLength(1);
    const state = sim.control.state();
    expect(state.hosts.find((h) => h.name === name)).toMatchObject({ role: "slave", master: "xs1", poolUuid: sim.control.host("xs1").poolUuid });
  });

  it("join_force skips the homogeneity checks", async () => {
    const name = await standalone({ cpuVendor: "AuthenticAMD", softwareVersion: "25.1.0" });
    const c = clientFor(sim, name);
    await c.login();
    expect(await c.ok("pool.join_force", MASTER, "root", PASSWORD)).toBe("");
    await sim.control.waitFor((s) => {
      const h = s.hosts.find((x) => x.name === name);
      return h?.role === "slave" && h.toolstack === "up" && h.live;
    });
  });
});
