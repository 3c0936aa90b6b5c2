/**
 * Issue 15: a host's enabled flag is XenServer's, not only the record's. SetHostEnabled acts on
 * XenServer through the agents; a host the record says is disabled stays disabled in XenServer
 * across toolstack restarts, and the reconciler reports and corrects the drift either way. Every
 * claim about XenServer reads the simulator's host record.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { MaintenanceState } from "../../gen/hostaggregates/v1/host_pb.js";
import { OperationKind, OperationState } from "../../gen/hostaggregates/v1/operation_pb.js";
import { agentFailureOf } from "../../shared/agent-errors.js";
import { expectRpcError } from "../support/rpc-errors.js";
import { clientFor } from "../simulator/helpers.js";
import { startProduct, type Product } from "./product-harness.js";

const enabledInXenServer = (p: Product, host: string) => p.sim.control.host(host).enabled;

async function eventsOf(p: Product, aggregateId: bigint, kind: string) {
  const { events } = await p.api.events.listEvents({ aggregateId, pageSize: 1000 });
  return events.filter((e) => e.kind === kind);
}

/** Disables a host behind the controller's back, with host.disable's default auto_enable=true. */
async function disableBehindTheBack(p: Product, master: string, host: string): Promise<void> {
  const xapi = clientFor(p.sim, master);
  await xapi.login("root", "sim-secret");
  await xapi.ok("host.disable", await xapi.ok<string>("host.get_by_uuid", p.sim.control.host(host).uuid));
}

describe("a host's enabled state in XenServer", () => {
  let p: Product;
  let id: bigint;
  beforeAll(async () => {
    p = await startProduct({ hosts: 4, baseAddress: "127.0.9.10" });
    id = (await p.api.aggregates.createAggregate({ name: "enabled" })).id;
    for (const h of ["xs1", "xs2", "xs3"]) await p.addHost(id, h);
  }, 60_000);
  afterAll(async () => p?.close());

  it("SetHostEnabled disables and enables a member in XenServer, not only in the record", async () => {
    expect(enabledInXenServer(p, "xs2")).toBe(true);
    const disabled = await p.api.hosts.setHostEnabled({ name: "xs2", enabled: false });
    expect(disabled.enabled).toBe(false);
    expect(enabledInXenServer(p, "xs2")).toBe(false);
    // For good: a toolstack restart does not enable it again (auto_enable=false).
    await p.sim.control.restartToolstack("xs2");
    await p.sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs2" && h.toolstack === "up" && h.connected), 20_000);
    expect(enabledInXenServer(p, "xs2")).toBe(false);
    const enabled = await p.api.hosts.setHostEnabled({ name: "xs2", enabled: true });
    expect(enabled.enabled).toBe(true);
    expect(enabledInXenServer(p, "xs2")).toBe(true);
  });

  it("a host in no aggregate: SetHostEnabled writes the record only (AddHost enables it when it joins)", async () => {
    const host = await p.api.hosts.setHostEnabled({ name: "xs4", enabled: false });
    expect(host.enabled).toBe(false);
    expect(enabledInXenServer(p, "xs4")).toBe(true);
    await p.api.hosts.setHostEnabled({ name: "xs4", enabled: true });
  });

  it("StartMaintenance on the pool master hands the role over and ends IN_MAINTENANCE, disabled in XenServer for good", async () => {
    expect((await p.api.aggregates.getAggregate({ id })).pool?.masterHost).toBe("xs1");
    const done = await p.waitOperation((await p.api.hosts.startMaintenance({ host: "xs1" })).id, 60_000);
    expect(done.state, done.error?.message).toBe(OperationState.SUCCEEDED);
    expect(done.steps.map((s) => s.name)).toContain("hand-over-master");
    const master = (await p.api.aggregates.getAggregate({ id })).pool!.masterHost;
    expect(master).not.toBe("xs1");
    // Every host restarted its toolstack during the hand-over; wait until they all follow the new master.
    await p.sim.control.waitFor((s) => ["xs1", "xs2", "xs3"].every((n) => s.hosts.find((h) => h.name === n && h.toolstack === "up" && h.connected && h.master === master)), 20_000);
    expect(await p.api.hosts.getHost({ name: "xs1" })).toMatchObject({ enabled: false, maintenance: MaintenanceState.IN_MAINTENANCE });
    expect(enabledInXenServer(p, "xs1")).toBe(false);
    await p.sim.control.restartToolstack("xs1");
    await p.sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs1" && h.toolstack === "up" && h.connected), 20_000);
    expect(enabledInXenServer(p, "xs1")).toBe(false);
  }, 90_000);

  it("the reconciler re-disables a disabled host that a toolstack restart enabled again, and reports it", async () => {
    const master = (await p.api.aggregates.getAggregate({ id })).pool!.masterHost;
    // xs1 is in maintenance; someone disables it again with the default auto_enable=true, then its toolstack restarts.
    await disableBehindTheBack(p, master, "xs1");
    await p.sim.control.restartToolstack("xs1");
    await p.sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs1" && h.toolstack === "up" && h.connected && h.enabled), 20_000);
    await p.controller!.reconciler.tick();
    expect(enabledInXenServer(p, "xs1")).toBe(false);
    const [event] = await eventsOf(p, id, "host.enabled-drift");
    expect(event?.host).toBe("xs1");
    expect(event?.message).toMatch(/xs1 .*enabled in XenServer.*disabled/);
    // For good this time.
    await p.sim.control.restartToolstack("xs1");
    await p.sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs1" && h.toolstack === "up" && h.connected), 20_000);
    expect(enabledInXenServer(p, "xs1")).toBe(false);
    await p.controller!.reconciler.tick();
    expect(await eventsOf(p, id, "host.enabled-drift")).toHaveLength(1);
    expect((await p.api.aggregates.getAggregate({ id })).pool?.drift).toEqual([]);
  }, 60_000);

  it("the reconciler enables again a host the record says is in service but XenServer has disabled", async () => {
    const master = (await p.api.aggregates.getAggregate({ id })).pool!.masterHost;
    await disableBehindTheBack(p, master, "xs3");
    expect(enabledInXenServer(p, "xs3")).toBe(false);
    await p.controller!.reconciler.tick();
    expect(enabledInXenServer(p, "xs3")).toBe(true);
    const events = await eventsOf(p, id, "host.enabled-drift");
    expect(events.some((e) => e.host === "xs3" && /disabled in XenServer/.test(e.message))).toBe(true);
    expect((await p.api.hosts.getHost({ name: "xs3" })).enabled).toBe(true);
  }, 60_000);

  it("answers UNAVAILABLE and leaves the record as it was when no agent of the pool answers", async () => {
    // Every agent of the pool stops answering (their XAPIs are still up). Last test of this product.
    await Promise.all([0, 1, 2].map((i) => p.agents[i]!.close()));
    const err = await expectRpcError(p.api.hosts.setHostEnabled({ name: "xs3", enabled: false }), Code.Unavailable);
    expect(err.rawMessage).toMatch(/cannot disable xs3 in XenServer: no agent of its pool answered/);
    expect(agentFailureOf(err)?.hosts.slice().sort()).toEqual(["xs1", "xs2", "xs3"]);
    expect((await p.api.hosts.getHost({ name: "xs3" })).enabled).toBe(true);
    expect(enabledInXenServer(p, "xs3")).toBe(true);
  });
});

describe("a disabled member across a master recovery (emergency transition, recover_slaves)", () => {
  let p: Product;
  beforeAll(async () => {
    p = await startProduct({ hosts: 3, baseAddress: "127.0.9.100", simulator: { masterLostGraceMs: 10_000, emergencyRetryMs: 10_000 } });
  }, 60_000);
  afterAll(async () => p?.close());

  it("stays disabled in XenServer after every toolstack restart of the recovery", async () => {
    const id = (await p.api.aggregates.createAggregate({ name: "recovered" })).id;
    for (const h of ["xs1", "xs2", "xs3"]) await p.addHost(id, h);
    await p.api.hosts.setHostEnabled({ name: "xs3", enabled: false });
    await p.sim.control.power("xs1", false);
    const recovery = await p.waitFor(async () => {
      const { operations } = await p.api.operations.listOperations({ aggregateId: id, pageSize: 100 });
      return operations.find((o) => o.kind === OperationKind.RECOVER_MASTER);
    }, 30_000, "a RECOVER_MASTER operation");
    const done = await p.waitOperation(recovery.id, 60_000);
    expect(done.state, done.error?.message).toBe(OperationState.SUCCEEDED);
    const master = (await p.api.aggregates.getAggregate({ id })).pool!.masterHost;
    // Whichever member was promoted or repointed, both restarted their toolstacks.
    await p.sim.control.waitFor((s) => ["xs2", "xs3"].every((n) => s.hosts.find((h) => h.name === n && h.toolstack === "up" && h.connected && h.master === master)), 20_000);
    expect(enabledInXenServer(p, "xs3")).toBe(false);
    expect((await p.api.hosts.getHost({ name: "xs3" })).enabled).toBe(false);
    await p.controller!.reconciler.tick();
    expect(enabledInXenServer(p, "xs3")).toBe(false);
  }, 90_000);
});
