/** aggctl aggregate-rolling-maintenance and operation-resume as real processes against the product (simulator, agents, controller). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startProduct, type Product } from "../e2e/product-harness.js";
import { aggctlWith } from "./aggctl-process.js";

let p: Product;
const run = (...args: string[]) => aggctlWith({ AGGREGATES_ENDPOINT: p.controllerEndpoint, AGGREGATES_TOKEN: p.adminToken }, ...args);

beforeAll(async () => {
  p = await startProduct({ hosts: 3, baseAddress: "127.0.14.130" });
  const agg = await p.api.aggregates.createAggregate({ name: "cli-rolling" });
  for (const h of ["xs1", "xs2", "xs3"]) await p.addHost(agg.id, h);
  for (const h of ["xs1", "xs2", "xs3"]) p.sim.control.addVms(h, { count: 2, memoryMiB: 1024, namePrefix: `${h}-v` });
}, 60_000);
afterAll(async () => p?.close());

describe("aggctl aggregate-rolling-maintenance", () => {
  it("--dry-run prints the plan of every step and changes nothing", async () => {
    const r = await run("aggregate-rolling-maintenance", "cli-rolling", "--dry-run");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/rolling reboot of 3 host\(s\), in this order: xs2, xs3, xs1 \(master\)/);
    expect(r.stdout).toMatch(/Step\s+Host out\s+VMs to move/);
    expect(r.stdout).toContain("estimated migration time");
    expect(p.sim.control.state().hosts.every((h) => h.enabled && h.bootCount === 1)).toBe(true);
  });

  it("refuses bad flags as usage errors", async () => {
    expect((await run("aggregate-rolling-maintenance", "cli-rolling", "--action", "explode")).code).toBe(2);
    expect((await run("aggregate-rolling-maintenance", "cli-rolling", "--action", "hook")).stderr).toContain("--hook NAME");
    expect((await run("aggregate-rolling-maintenance", "cli-rolling", "--hosts", "xs1,,xs2")).code).toBe(2);
  });

  it("--action pause stops at each host with instructions; operation-resume goes on, showing progress, to the end", async () => {
    const first = await run("aggregate-rolling-maintenance", "cli-rolling", "--action", "pause", "--hosts", "xs2,xs3");
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/paused with xs2 empty, disabled and in maintenance \(0\/2 hosts done\)/);
    const id = /aggctl operation-resume (op-\S+)/.exec(first.stdout)![1]!;
    expect(first.stderr).toMatch(/hosts done 0\/2/);
    const second = await run("operation-resume", id);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/paused with xs3 empty/);
    const last = await run("operation-resume", id);
    expect(last.code, last.stderr).toBe(0);
    expect(last.stdout).toMatch(/rolling maintenance done: 2\/2 host\(s\)/);
    const show = await run("operation-show", id);
    expect(show.stdout).toMatch(/xs2\s+DONE/);
    expect((await run("operation-resume", id)).code).toBe(1);
  }, 120_000);
});
