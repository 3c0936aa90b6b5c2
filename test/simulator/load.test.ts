import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "../../simulator/index.js";
import { Xapi, clientFor, joinPool, startTestSim } from "./helpers.js";

// A 3-host pool with 20 VMs per host under concurrent read load.
let sim: Simulator;
const agent = new http.Agent({ keepAlive: true, maxSockets: 200 });
let m: Xapi;
let hosts: string[] = [];
let vms: string[] = [];

beforeAll(async () => {
  sim = await startTestSim("127.0.1.40", { hosts: 3 });
  await Promise.all(["xs2", "xs3"].map((h) => joinPool(sim, h, "xs1")));
  // Joining hosts must not run VMs, so the guests start after the pool is formed.
  for (const host of ["xs1", "xs2", "xs3"]) {
    for (const memoryMiB of [512, 1024, 2048, 4096]) sim.control.addVms(host, { count: 5, memoryMiB, namePrefix: `${host}-${memoryMiB}` });
  }
  m = clientFor(sim, "xs1", agent);
  await m.login();
  hosts = await m.ok<string[]>("host.get_all");
  vms = await m.ok<string[]>("VM.get_all");
});
afterAll(async () => {
  agent.destroy();
  await sim.close();
});

/** The i-th read call of a realistic mix. */
function readCall(i: number): Promise<unknown> {
  const host = hosts[i % hosts.length]!;
  const vm = vms[i % vms.length]!;
  switch (i % 8) {
    case 0:
      return m.ok("VM.get_all_records");
    case 1:
      return m.ok("host.get_record", host);
    case 2:
      return m.ok("VM.get_record", vm);
    case 3:
      return m.ok("host.get_metrics", host).then((metrics) => m.ok("host_metrics.get_record", metrics));
    case 4:
      return m.ok("pool.get_all").then((p) => m.ok("pool.get_master", (p as string[])[0]));
    case 5:
      return m.ok("VM.get_power_state", vm);
    case 6:
      return m.ok("host.compute_free_memory", host);
    default:
      return m.ok("host.get_all_records");
  }
}

describe("load", () => {
  it("a 3-host pool with 20 VMs per host answers 200 concurrent read calls without error", async () => {
    expect(hosts).toHaveLength(3);
    expect(sim.control.state().vms.filter((v) => v.powerState === "Running")).toHaveLength(60);
    const results = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => readCall(i)));
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    const records = (results[0] as PromiseFulfilledResult<Record<string, unknown>>).value;
    expect(Object.keys(records).length).toBe(60 + 3 + 3);
  });

  it("sustained read throughput (reported)", async () => {
    const measure = async (total: number, concurrency: number, call: (i: number) => Promise<unknown>): Promise<number> => {
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < total) await call(next++);
        }),
      );
      return Math.round(total / ((performance.now() - started) / 1000));
    };
    const light = await measure(1200, 50, (i) => readCall(1 + (i % 6)));
    const heavy = await measure(20, 10, () => m.ok("VM.get_all_records"));
    console.log(
      `fake-xapi read throughput (client in the same process): ${light} light read calls/s ` +
        `(record/getter/metrics/pool reads, concurrency 50); ${heavy} VM.get_all_records calls/s (66 VMs, ~450 KB each)`,
    );
    expect(light).toBeGreaterThan(300);
  });
});
