import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "../../simulator/index.js";
import { clientFor, connectionOutcome, joinPool, startTestSim, until, type Xapi } from "./helpers.js";

// host.reboot, host.get_servertime and other_config:boot_time / agent_start_time (docs/simulator.md §Host reboot).
let sim: Simulator;
let m: Xapi;
const ref: Record<string, string> = {};

beforeAll(async () => {
  sim = await startTestSim("127.0.12.10", { hosts: 3, timeScale: 0.005 });
  await Promise.all(["xs2", "xs3"].map((h) => joinPool(sim, h, "xs1")));
  m = clientFor(sim, "xs1");
  await m.login();
  for (const h of ["xs1", "xs2", "xs3"]) ref[h] = (await m.ok<string[]>("host.get_by_name_label", h))[0]!;
  sim.control.addVms("xs2", { count: 1, memoryMiB: 512 });
});
afterAll(() => sim.close());

const otherConfig = async (host: string) => await m.ok<Record<string, string>>("host.get_other_config", ref[host]);

describe("host.reboot", () => {
  it("is refused while the host is enabled (HOST_NOT_DISABLED) and while a guest runs on it (HOST_IN_USE)", async () => {
    expect(await m.fail("host.reboot", ref.xs2)).toEqual(["HOST_NOT_DISABLED"]);
    await m.ok("host.disable", ref.xs2);
    const vm = sim.control.state().vms.find((v) => v.residentOn === "xs2")!;
    const vmRef = await m.ok<string>("VM.get_by_uuid", vm.uuid);
    expect(await m.fail("host.reboot", ref.xs2)).toEqual(["HOST_IN_USE", ref.xs2, "vm", vmRef]);
    expect(sim.control.host("xs2").bootCount).toBe(1);
    await m.ok("VM.pool_migrate", vmRef, ref.xs3, { live: "true" });
  });

  it("reboots a disabled, empty host: it goes down after the fuse, boots, and comes back with new time stamps", async () => {
    const before = await otherConfig("xs2");
    expect(Number(before["boot_time"])).toBeGreaterThan(1.7e9);
    expect(Number(before["agent_start_time"])).toBeGreaterThanOrEqual(Number(before["boot_time"]));
    const serverTime = await m.ok<Date>("host.get_servertime", ref.xs2);
    expect(serverTime).toBeInstanceOf(Date);
    expect(Math.abs(serverTime.getTime() - Date.now())).toBeLessThan(5000);
    const states: string[] = [];
    const off = sim.control.onChange((s) => {
      const h = s.hosts.find((x) => x.name === "xs2")!;
      const last = states.at(-1);
      if (last !== h.toolstack) states.push(h.toolstack);
    });
    expect(await m.ok("host.reboot", ref.xs2)).toBe("");
    // Re-enabling between the call and the reboot is refused, as xapi's host_disabled_until_reboot does.
    expect(await m.fail("host.enable", ref.xs2)).toEqual(["HOST_DISABLED_UNTIL_REBOOT", ref.xs2]);
    await sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs2")?.toolstack === "down");
    expect(await connectionOutcome(sim.hosts[1]!.url)).toBe("ECONNREFUSED");
    await sim.control.waitFor((s) => {
      const h = s.hosts.find((x) => x.name === "xs2")!;
      return h.toolstack === "up" && h.connected && h.live;
    });
    off();
    expect(states).toEqual(["up", "down", "up"]);
    expect(sim.control.host("xs2").bootCount).toBe(2);
    const after = await until(async () => {
      const oc = await otherConfig("xs2");
      return Number(oc["agent_start_time"]) > Number(before["agent_start_time"]) ? oc : false;
    });
    expect(Number(after["boot_time"])).toBeGreaterThan(Number(before["boot_time"]));
    // Back enabled (auto_enable) and usable; other hosts were not rebooted.
    expect(sim.control.host("xs2").enabled).toBe(true);
    expect(sim.control.host("xs3").bootCount).toBe(1);
    expect(sim.control.host("xs1").bootCount).toBe(1);
  });

  it("an unknown host is HANDLE_INVALID; get_servertime answers on a slave's pool too", async () => {
    expect((await m.fail("host.reboot", "OpaqueRef:nope"))[0]).toBe("HANDLE_INVALID");
    expect(await m.ok<Date>("host.get_servertime", ref.xs3)).toBeInstanceOf(Date);
  });
});
