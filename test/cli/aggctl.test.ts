/**
 * aggctl as a real process against a real controller: JSON output, how aggregates are addressed
 * (ids, names, all-digit names, --aggregate filters, ids out of range) and the UNAVAILABLE hints.
 */
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostRegistration, putHostInAggregate, startTestController, type TestController } from "../support/controller-harness.js";
import { startFakeAgent, type FakeAgent } from "../support/fake-agent.js";
import { aggctl, aggctlEnv, aggctlWith } from "./aggctl-process.js";

let h: TestController;
let xapiDown: FakeAgent;
let poolA: bigint;
let poolB: bigint;

beforeAll(async () => {
  h = await startTestController();
  // An agent that answers, but cannot reach its XenServer (as a real agent answers then).
  xapiDown = await startFakeAgent({
    getHostInfo: () => {
      throw new ConnectError("GetHostInfo: XAPI http://192.0.2.11/ unreachable: connect ECONNREFUSED", Code.Unavailable);
    },
  });
  poolA = (await h.aggregates.createAggregate({ name: "pool-a" })).id;
  poolB = (await h.aggregates.createAggregate({ name: "pool-b" })).id;
  await h.registry.registerHost(hostRegistration("xs1"));
  await h.registry.registerHost(hostRegistration("xs2", { agentEndpoint: xapiDown.endpoint }));
  await h.registry.registerHost(hostRegistration("xs3"));
  await putHostInAggregate(h, "xs1", poolA);
  await putHostInAggregate(h, "xs2", poolA);
  await putHostInAggregate(h, "xs3", poolB);
});
afterAll(async () => {
  await h?.close();
  await xapiDown?.close();
});

describe("aggctl --json event-list", () => {
  it("prints the events as a JSON array, oldest first", async () => {
    const r = await aggctl(h, "--json", "event-list");
    expect(r.code, r.stderr).toBe(0);
    const events = JSON.parse(r.stdout) as { id: string; kind: string; message: string }[];
    expect(events.map((e) => e.kind)).toContain("host.registered");
    expect(events.map((e) => Number(e.id))).toEqual(events.map((e) => Number(e.id)).sort((a, b) => a - b));
  });

  it("with --follow prints one JSON object per line, the recent ones then new ones", async () => {
    const child = spawn(resolve(import.meta.dirname, "../../bin/aggctl"), ["--json", "event-list", "--follow", "--limit", "1"], {
      env: { PATH: process.env.PATH ?? "", ...aggctlEnv(h) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const lines = async (n: number) => {
      const deadline = Date.now() + 20_000;
      while (out.split("\n").filter(Boolean).length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      return out.split("\n").filter(Boolean);
    };
    try {
      expect(await lines(1)).toHaveLength(1);
      await h.registry.registerHost(hostRegistration("xs9"));
      const all = await lines(2);
      const parsed = all.map((l) => JSON.parse(l) as { kind: string; message: string });
      expect(parsed[1]).toMatchObject({ kind: "host.registered", host: "xs9" });
    } finally {
      child.kill("SIGTERM");
    }
  });
});

describe("addressing aggregates", () => {
  it("an all-digit name is addressed by name; an id that no aggregate has as its name is an id", async () => {
    const digits = await h.aggregates.createAggregate({ name: "4711" });
    const byName = await aggctl(h, "--json", "aggregate-details", "4711");
    expect(byName.code, byName.stderr).toBe(0);
    expect(JSON.parse(byName.stdout)).toMatchObject({ id: String(digits.id), name: "4711" });
    const byId = await aggctl(h, "aggregate-details", String(poolA));
    expect(byId.code, byId.stderr).toBe(0);
    expect(byId.stdout).toMatch(/name\s+pool-a/);
    await h.aggregates.deleteAggregate({ id: digits.id });
  });

  it("a name equal to another aggregate's id wins, with a note naming the aggregate it shadows", async () => {
    const shadow = await h.aggregates.createAggregate({ name: String(poolB) });
    try {
      const r = await aggctl(h, "--json", "aggregate-details", String(poolB));
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ id: String(shadow.id), name: String(poolB) });
      expect(r.stderr).toContain(`"${poolB}" is the name of aggregate ${shadow.id}`);
      expect(r.stderr).toContain(`aggregate ${poolB} ("pool-b")`);
    } finally {
      await h.aggregates.deleteAggregate({ id: shadow.id });
    }
  });

  it("--aggregate filters take a name or an id", async () => {
    for (const filter of ["pool-b", String(poolB)]) {
      const hosts = await aggctl(h, "--json", "host-list", "--aggregate", filter);
      expect(hosts.code, hosts.stderr).toBe(0);
      expect((JSON.parse(hosts.stdout) as { name: string }[]).map((x) => x.name)).toEqual(["xs3"]);
      const ops = await aggctl(h, "--json", "operation-list", "--aggregate", filter);
      expect(ops.code, ops.stderr).toBe(0);
      expect(JSON.parse(ops.stdout)).toEqual([]);
      const events = await aggctl(h, "--json", "event-list", "--aggregate", filter);
      expect(events.code, events.stderr).toBe(0);
    }
    const unknown = await aggctl(h, "host-list", "--aggregate", "no-such-pool");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('ERROR (NOT_FOUND): no aggregate with id or name "no-such-pool"');
  });

  it("an id beyond int64 or zero, or a count beyond int32, is a usage error (exit 2) naming the argument; such digits can still be a name", async () => {
    const huge = "99999999999999999999";
    const cases: [string[], string][] = [
      [["aggregate-details", huge], "ID"],
      [["aggregate-delete", "0"], "ID"],
      [["aggregate-add-host", huge, "xs1", "--no-wait"], "ID"],
      [["host-list", "--aggregate", huge], "--aggregate"],
      [["operation-list", "--aggregate", huge], "--aggregate"],
      [["event-list", "--aggregate", huge], "--aggregate"],
      [["operation-list", "--limit", "99999999999"], "--limit"],
      [["host-maintenance-start", "xs1", "--max-parallel", "99999999999"], "--max-parallel"],
    ];
    for (const [args, argument] of cases) {
      const r = await aggctl(h, ...args);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`aggctl: ${argument} must be`);
      expect(r.stderr).not.toContain("INTERNAL");
    }
    // Beyond int64, and beyond the API's id range (2^53 − 1) but within int64: names all the same.
    for (const name of [huge, "9007199254740993"]) {
      const named = await h.aggregates.createAggregate({ name });
      try {
        const r = await aggctl(h, "--json", "aggregate-details", name);
        expect(r.code, r.stderr).toBe(0);
        expect(JSON.parse(r.stdout)).toMatchObject({ id: String(named.id), name });
      } finally {
        await h.aggregates.deleteAggregate({ id: named.id });
      }
    }
  });
});

describe("UNAVAILABLE hints", () => {
  it("when the controller does not answer: is the controller running?", async () => {
    const r = await aggctlWith({ AGGREGATES_ENDPOINT: "127.0.0.1:1", AGGREGATES_TOKEN: h.adminToken }, "aggregate-list");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("ERROR (UNAVAILABLE)");
    expect(r.stderr).toContain("is the controller running? check AGGREGATES_ENDPOINT / --endpoint (127.0.0.1:1)");
  });

  it("when the controller cannot reach a host's agent: names the host, not the controller", async () => {
    const r = await aggctl(h, "aggregate-remove-host", "pool-a", "xs1");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("ERROR (UNAVAILABLE)");
    expect(r.stderr).toContain('the controller could not reach the agent of host "xs1"');
    expect(r.stderr).not.toContain("is the controller running");
  });

  it("when an agent answers that it cannot serve (its XenServer is unreachable): says so", async () => {
    const r = await aggctl(h, "aggregate-remove-host", "pool-a", "xs2");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("ERROR (UNAVAILABLE)");
    expect(r.stderr).toContain('the agent of host "xs2" answered but cannot serve');
    expect(r.stderr).not.toContain("is the controller running");
  });
});

describe("a list of endpoints (controller replicas)", () => {
  it("uses a live endpoint when the first is down, for calls and for streams", async () => {
    const listed = { AGGREGATES_ENDPOINT: `127.0.0.1:1,${h.grpcEndpoint}`, AGGREGATES_TOKEN: h.adminToken };
    const r = await aggctlWith(listed, "--json", "aggregate-list");
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { name: string }[]).map((a) => a.name)).toEqual(expect.arrayContaining(["pool-a", "pool-b"]));
    const flag = await aggctlWith({ AGGREGATES_TOKEN: h.adminToken }, "--endpoint", `127.0.0.1:1,${h.grpcEndpoint}`, "--json", "event-list", "--limit", "1");
    expect(flag.code, flag.stderr).toBe(0);
    expect(JSON.parse(flag.stdout)).toHaveLength(1);
  });

  it("names every endpoint when none answers", async () => {
    const r = await aggctlWith({ AGGREGATES_ENDPOINT: "127.0.0.1:1,127.0.0.1:2", AGGREGATES_TOKEN: h.adminToken }, "aggregate-list");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("ERROR (UNAVAILABLE): none of the endpoints 127.0.0.1:1,127.0.0.1:2 answered (127.0.0.1:1: ");
    expect(r.stderr).toContain("; 127.0.0.1:2: ");
    expect(r.stderr).toContain("check AGGREGATES_ENDPOINT / --endpoint (127.0.0.1:1,127.0.0.1:2)");
  });

  it("an empty item in the list is a usage error (exit 2)", async () => {
    const r = await aggctlWith({ AGGREGATES_ENDPOINT: `${h.grpcEndpoint},,127.0.0.1:2`, AGGREGATES_TOKEN: h.adminToken }, "aggregate-list");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("AGGREGATES_ENDPOINT: expected HOST:PORT or a comma-separated list of them");
  });
});
