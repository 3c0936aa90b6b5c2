/** VmInfo.evacuation_blocker: what host.get_vms_which_prevent_evacuation says about each VM of a host. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { VmInfo } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import { startAgentWorld, type AgentWorld } from "./agent-harness.js";

let w: AgentWorld;
const client = (name: string) => w.agent(name).client;
const uuidOf = (name: string) => w.host(name).uuid;
const master = "127.0.0.240";

beforeAll(async () => {
  w = await startAgentWorld({ sim: { hosts: 2, baseAddress: master } });
  await client("xs2").joinPool({ masterAddress: master });
});
afterAll(async () => {
  await w?.close();
});

const byUuid = (vms: VmInfo[], uuid: string) => vms.find((v) => v.uuid === uuid);

describe("evacuation blockers", () => {
  it("ListVms for a host reports VM_REQUIRES_SR with its params for a local-storage VM, nothing for a movable one", async () => {
    const [local] = w.sim.control.addVms("xs1", { localStorage: true, namePrefix: "local", memoryMiB: 1024 });
    const [normal] = w.sim.control.addVms("xs1", { namePrefix: "shared", memoryMiB: 1024 });

    // Asked through the slave's agent: the call goes to the master.
    const { vms } = await client("xs2").listVms({ hostUuid: uuidOf("xs1") });
    const blocked = byUuid(vms, local!.uuid)!;
    expect(blocked.evacuationBlocker[0]).toBe("VM_REQUIRES_SR");
    expect(blocked.evacuationBlocker).toHaveLength(3);
    expect(blocked.evacuationBlocker.slice(1).every((p) => p.startsWith("OpaqueRef:"))).toBe(true);
    expect([blocked.canMigrate, blocked.localStorage]).toEqual([false, true]);

    const movable = byUuid(vms, normal!.uuid)!;
    expect(movable.evacuationBlocker).toEqual([]);
    expect([movable.canMigrate, movable.localStorage]).toEqual([true, false]);

    // Without host_uuid nothing is asked: the list stays empty.
    const all = await client("xs1").listVms({});
    expect(byUuid(all.vms, local!.uuid)?.evacuationBlocker).toEqual([]);

    // GetHostInfo with VMs carries the same blockers.
    const info = await client("xs1").getHostInfo({ includeVms: true });
    expect(byUuid(info.vms, local!.uuid)?.evacuationBlocker[0]).toBe("VM_REQUIRES_SR");
    expect(byUuid(info.vms, local!.uuid)?.canMigrate).toBe(false);
    expect(byUuid(info.vms, normal!.uuid)?.evacuationBlocker).toEqual([]);
  });

  it("passes capacity-related codes through without marking the VM immobile", async () => {
    // xs2 shrinks so that a big VM on xs1 fits nowhere else right now.
    w.sim.control.setHostFacts("xs2", { memoryMiB: 16_384 });
    const [big] = w.sim.control.addVms("xs1", { namePrefix: "big", memoryMiB: 65_536 });
    const { vms } = await client("xs1").listVms({ hostUuid: uuidOf("xs1") });
    const vm = byUuid(vms, big!.uuid)!;
    expect(vm.evacuationBlocker[0]).toBe("HOST_NOT_ENOUGH_FREE_MEMORY");
    expect([vm.canMigrate, vm.localStorage]).toEqual([true, false]);
  });

  it("leaves the field empty when the call fails", async () => {
    w.sim.control.setFault("xs1", { method: "host.get_vms_which_prevent_evacuation", error: ["MESSAGE_METHOD_UNKNOWN", "host.get_vms_which_prevent_evacuation"] });
    const { vms } = await client("xs1").listVms({ hostUuid: uuidOf("xs1") });
    expect(vms.length).toBeGreaterThan(0);
    expect(vms.every((v) => v.evacuationBlocker.length === 0)).toBe(true);
    w.sim.control.clearFaults("xs1");
    expect(w.logLines.some((l) => l.includes("cannot read the VMs that prevent evacuation"))).toBe(true);
  });
});
