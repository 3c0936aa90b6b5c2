/** Issue 5: the reconciler reports drift between a record and its pool, and never changes the pool. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PoolState } from "../../gen/hostaggregates/v1/aggregate_pb.js";
import { startProduct, type Product } from "./product-harness.js";

describe("reconciler", () => {
  let p: Product;
  let id: bigint;
  beforeAll(async () => {
    p = await startProduct({ hosts: 3, baseAddress: "127.0.1.220" });
    id = (await p.api.aggregates.createAggregate({ name: "watched" })).id;
    await p.addHost(id, "xs1");
    await p.addHost(id, "xs2");
  }, 60_000);
  afterAll(async () => p?.close());

  it("finds no drift while the record matches the pool", async () => {
    await p.controller!.reconciler.tick();
    const agg = await p.api.aggregates.getAggregate({ id });
    expect(agg.pool?.drift).toEqual([]);
    expect(agg.pool?.checkedAt).toBeDefined();
  });

  it("reports a host that joined the pool behind the controller's back, in the aggregate and the event stream, without acting", async () => {
    // xs3 joins xs1's pool directly through XenServer, not through the controller.
    await p.agents[2]!.close();
    const join = await fetch(`${p.sim.control.host("xs3").url}`, {
      method: "POST",
      headers: { "content-type": "text/xml" },
      body: `<?xml version="1.0"?><methodCall><methodName>session.login_with_password</methodName><params><param><value>root</value></param><param><value>sim-secret</value></param></params></methodCall>`,
    });
    const session = /OpaqueRef:[0-9a-f-]+/.exec(await join.text())![0];
    const call = await fetch(`${p.sim.control.host("xs3").url}`, {
      method: "POST",
      headers: { "content-type": "text/xml" },
      body: `<?xml version="1.0"?><methodCall><methodName>pool.join</methodName><params><param><value>${session}</value></param><param><value>${p.sim.control.host("xs1").address}</value></param><param><value>root</value></param><param><value>sim-secret</value></param></params></methodCall>`,
    });
    expect(await call.text()).toContain("Success");
    await p.sim.control.waitFor((s) => s.pools.find((pl) => pl.master === "xs1")?.hosts.includes("xs3") && s.hosts.find((h) => h.name === "xs3")?.live, 20_000);

    await p.controller!.reconciler.tick();
    const agg = await p.api.aggregates.getAggregate({ id });
    expect(agg.pool?.state).toBe(PoolState.ACTIVE);
    expect(agg.pool?.drift.join("\n")).toMatch(/xs3 .* is not a host of this aggregate/);
    expect(agg.hosts).toEqual(["xs1", "xs2"]);
    const { events } = await p.api.events.listEvents({ aggregateId: id });
    expect(events.some((e) => e.kind === "pool.drift" && /xs3/.test(e.message))).toBe(true);
    // It never ejects anything by itself.
    expect(p.sim.control.state().pools.find((pl) => pl.master === "xs1")?.hosts.sort()).toEqual(["xs1", "xs2", "xs3"]);
  });
});
