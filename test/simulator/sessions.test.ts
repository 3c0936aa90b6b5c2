import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "../../simulator/index.js";
import { PASSWORD, Xapi, clientFor, connectionOutcome, joinPool, startTestSim } from "./helpers.js";

// docs/xenapi-notes.md §Simulator checklist, points 7–12 (facts in §Sessions and §HOST_IS_SLAVE redirection).
// The §8.N in the test titles are the point numbers of that checklist.
let sim: Simulator;

beforeAll(async () => {
  // The auth-failure delay is 5 s nominal; at timeScale 0.01 that is 50 ms real.
  sim = await startTestSim("127.0.0.40", { hosts: 3, timeScale: 0.01, restartMs: 2_000, fuseMs: 1_000 });
  await joinPool(sim, "xs2", "xs1");
});
afterAll(() => sim.close());

describe("login (§8.7, §8.12)", () => {
  it("returns a fresh OpaqueRef per login on the master", async () => {
    const a = await clientFor(sim, "xs1").login();
    const b = await clientFor(sim, "xs1").login();
    expect(a).toMatch(/^OpaqueRef:[0-9a-f-]{36}$/);
    expect(b).not.toBe(a);
  });

  it("wrong password or user → SESSION_AUTHENTICATION_FAILED [user, msg] after the scaled delay", async () => {
    const c = clientFor(sim, "xs1");
    const started = performance.now();
    const env = await c.call("session.login_with_password", "root", "wrong", "2.21", "t");
    const elapsed = performance.now() - started;
    expect(env.ErrorDescription).toEqual(["SESSION_AUTHENTICATION_FAILED", "root", "Authentication failure"]);
    expect(elapsed).toBeGreaterThanOrEqual(5_000 * 0.01 - 2);
    const other = await c.call("session.login_with_password", "admin", PASSWORD);
    expect(other.ErrorDescription).toEqual(["SESSION_AUTHENTICATION_FAILED", "admin", "Authentication failure"]);
  });

  it("the calls os-xenapi makes right after login succeed", async () => {
    const c = clientFor(sim, "xs1");
    await c.login();
    const pools = await c.ok<string[]>("pool.get_all");
    expect(pools).toHaveLength(1);
    const master = await c.ok<string>("pool.get_master", pools[0]);
    expect(await c.ok("host.get_API_version_major", master)).toBe("2");
    expect(await c.ok("host.get_API_version_minor", master)).toBe("21");
    expect(await c.ok("session.get_this_host", c.session)).toBe(master);
  });
});

describe("slaves (§8.8)", () => {
  it("login on a slave → HOST_IS_SLAVE [master address]", async () => {
    const env = await clientFor(sim, "xs2").call("session.login_with_password", "root", PASSWORD);
    expect(env.ErrorDescription).toEqual(["HOST_IS_SLAVE", "127.0.0.40"]);
  });

  it("any call with a master session sent to a slave → HOST_IS_SLAVE", async () => {
    const m = clientFor(sim, "xs1");
    await m.login();
    const onSlave = new Xapi(clientFor(sim, "xs2").url);
    onSlave.session = m.session;
    expect(await onSlave.fail("host.get_all")).toEqual(["HOST_IS_SLAVE", "127.0.0.40"]);
    expect(await onSlave.fail("pool.join", "127.0.0.42", "root", PASSWORD)).toEqual(["HOST_IS_SLAVE", "127.0.0.40"]);
  });
});

describe("logout and invalid sessions (§8.9-10)", () => {
  it("unknown session → SESSION_INVALID [ref]; logout invalidates", async () => {
    const c = clientFor(sim, "xs1");
    c.session = "OpaqueRef:00000000-0000-0000-0000-000000000000";
    expect(await c.fail("pool.get_all")).toEqual(["SESSION_INVALID", c.session]);
    await c.login();
    expect(await c.ok("session.logout")).toBe("");
    expect(await c.fail("pool.get_all")).toEqual(["SESSION_INVALID", c.session]);
    expect(await c.fail("session.logout")).toEqual(["SESSION_INVALID", c.session]);
  });

  it("session.get_this_host(s, s) names the host; a foreign self → HANDLE_INVALID", async () => {
    const c = clientFor(sim, "xs3");
    await c.login();
    const self = await c.ok<string>("session.get_this_host", c.session);
    expect(await c.ok("host.get_name_label", self)).toBe("xs3");
    expect(await c.fail("session.get_this_host", "OpaqueRef:x")).toEqual(["HANDLE_INVALID", "session", "OpaqueRef:x"]);
  });

  it("a toolstack restart drops every session and refuses connections meanwhile", async () => {
    const c = clientFor(sim, "xs3");
    await c.login();
    const restarting = sim.control.restartToolstack("xs3");
    await restarting;
    expect(await connectionOutcome(c.url)).toBe("ECONNREFUSED");
    await sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs3")?.toolstack === "up");
    expect(await c.fail("pool.get_all")).toEqual(["SESSION_INVALID", c.session]);
    await c.login();
    expect(await c.ok<string[]>("pool.get_all")).toHaveLength(1);
  });
});

describe("local sessions (§8.11)", () => {
  it("slave_local_login_with_password works on a slave and grants only emergency calls", async () => {
    const c = clientFor(sim, "xs2");
    const local = await c.localLogin();
    expect(local).toMatch(/^OpaqueRef:/);
    expect(await c.ok("host.is_in_emergency_mode")).toBe(false);
    expect(await c.fail("host.get_all")).toEqual(["HOST_IS_SLAVE", "127.0.0.40"]);
    expect(await c.ok("session.local_logout")).toBe("");
    expect(await c.fail("host.is_in_emergency_mode")).toEqual(["SESSION_INVALID", local]);
  });

  it("a local session is not a normal session on a master", async () => {
    const c = clientFor(sim, "xs1");
    const local = await c.localLogin();
    expect(await c.fail("pool.get_all")).toEqual(["SESSION_INVALID", local]);
    expect(await c.ok("host.is_in_emergency_mode")).toBe(false);
    expect((await c.call("session.slave_local_login_with_password", "root", "bad")).ErrorDescription).toEqual([
      "SESSION_AUTHENTICATION_FAILED",
      "root",
      "Authentication failure",
    ]);
  });
});
