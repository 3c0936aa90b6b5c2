/** The typed XenAPI layer against the simulator: typed errors, timeouts, re-login, HOST_IS_SLAVE, bad params. */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { XapiClient } from "../../agent/xapi/client.js";
import { XapiCredentials } from "../../agent/xapi/credentials.js";
import { XapiError, XapiUnreachableError } from "../../agent/xapi/errors.js";
import { watchTask } from "../../agent/xapi/task.js";
import { strings, str } from "../../agent/xapi/values.js";
import { startSimulator, type Simulator } from "../../simulator/index.js";

const password = "unit-Secret-pw";
let sim: Simulator;
const clientFor = (host: string, callTimeoutMs = 2_000) =>
  new XapiClient({
    url: new URL(sim.hosts.find((h) => h.name === host)!.url),
    credentials: new XapiCredentials("root", password),
    callTimeoutMs,
    retryDelayMs: 20,
  });

beforeAll(async () => {
  sim = await startSimulator({ hosts: 2, baseAddress: "127.0.0.180", timeScale: 0.01, password });
});
afterAll(async () => {
  await sim?.close();
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection");
}

describe("XapiClient", () => {
  it("turns XenAPI failures into XapiError with code and params", async () => {
    const err = await rejection(clientFor("xs1").pool.call("host.get_by_uuid", ["no-such-uuid"]));
    expect(err).toBeInstanceOf(XapiError);
    expect(err).toMatchObject({ code: "UUID_INVALID", params: ["host", "no-such-uuid"], method: "host.get_by_uuid" });
  });

  it("rejects bigint and undefined parameters before anything is sent", async () => {
    // Nothing listens there: any traffic would fail with XapiUnreachableError instead of TypeError.
    const x = new XapiClient({ url: new URL("http://127.0.0.189:9/"), credentials: new XapiCredentials("root", password), callTimeoutMs: 500, retryDelayMs: 10 });
    await expect(x.pool.call("host.get_by_uuid", [1n as unknown as string])).rejects.toThrow(/param 0: bigint/);
    await expect(x.pool.call("pool.set_name_label", ["OpaqueRef:x", { nested: [undefined] } as never])).rejects.toThrow(/param 1\.nested\[0\]: undefined/);
    await expect(x.pool.call("pool.get_all")).rejects.toBeInstanceOf(XapiUnreachableError);
  });

  it("logs in again transparently after a toolstack restart (SESSION_INVALID)", async () => {
    const x = clientFor("xs1");
    const session = await x.pool.sessionRef();
    await sim.control.restartToolstack("xs1");
    await sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs1")?.toolstack === "up");
    expect(strings(await x.pool.call("pool.get_all"))).toHaveLength(1);
    expect(await x.pool.sessionRef()).not.toBe(session);
    expect(x.monitor.epoch).toBeGreaterThan(0);
  });

  it("follows HOST_IS_SLAVE to the master for pool calls, and reports it for the own host", async () => {
    const slave = clientFor("xs2");
    await slave.home.call("pool.join", ["127.0.0.180", "root", password]);
    await sim.control.waitFor((s) => {
      const xs2 = s.hosts.find((h) => h.name === "xs2");
      return xs2?.role === "slave" && xs2.toolstack === "up" && xs2.connected;
    });
    expect(await slave.homeState()).toEqual({ kind: "slave", masterAddress: "127.0.0.180" });
    const hosts = strings(await slave.pool.call("host.get_all"));
    expect(hosts).toHaveLength(2);
    expect(slave.pool.endpoint.hostname).toBe("127.0.0.180");
  });

  it("times out a call that never answers and reports a connection failure distinctly", async () => {
    sim.control.setFault("xs1", { method: "host.get_all", hang: true });
    const x = clientFor("xs1", 200);
    const started = Date.now();
    const err = await rejection(x.pool.call("host.get_all"));
    expect(err).toBeInstanceOf(XapiUnreachableError);
    expect((err as XapiUnreachableError).reason).toBe("timeout");
    expect(Date.now() - started).toBeLessThan(1_500);

    const nobody = new XapiClient({ url: new URL("http://127.0.0.189:9/"), credentials: new XapiCredentials("root", password), callTimeoutMs: 500, retryDelayMs: 10 });
    const refused = await rejection(nobody.pool.call("pool.get_all"));
    expect(refused).toBeInstanceOf(XapiUnreachableError);
    expect(refused).toMatchObject({ reason: "refused", neverSent: true });
    expect((refused as Error).message).not.toContain(password);
  });

  it("treats a non-XML-RPC answer as unreachable, not as a XenAPI failure", async () => {
    const server = http.createServer((_req, res) => res.writeHead(500, { "content-type": "text/html" }).end("<html><body>oops</body></html>"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const x = new XapiClient({ url: new URL(`http://127.0.0.1:${port}/`), credentials: new XapiCredentials("root", password), callTimeoutMs: 500, retryDelayMs: 10 });
      expect(await rejection(x.pool.call("pool.get_all"))).toMatchObject({ name: "XapiUnreachableError", reason: "protocol" });
    } finally {
      server.close();
    }
  });

  it("polls an Async task to its result and destroys it", async () => {
    const x = clientFor("xs1");
    const vm = sim.control.addVms("xs1", { count: 1, memoryMiB: 2048 })[0]!;
    const vmRef = str(await x.pool.call("VM.get_by_uuid", [vm.uuid]));
    const target = str(await x.pool.call("host.get_by_uuid", [sim.control.host("xs2").uuid]));
    const task = str(await x.pool.call("Async.VM.pool_migrate", [vmRef, target, { live: "true" }]));
    const seen: number[] = [];
    const watch = watchTask(x.pool, task, { pollIntervalMs: 20, timeoutMs: 10_000, method: "VM.pool_migrate" });
    for (;;) {
      const next = await watch.next();
      if (next.done) break;
      seen.push(next.value.progress);
    }
    expect(seen.length).toBeGreaterThan(1);
    expect(sim.control.state().vms.find((v) => v.uuid === vm.uuid)?.residentOn).toBe("xs2");
    expect(await rejection(x.pool.call("task.get_status", [task]))).toMatchObject({ code: "HANDLE_INVALID" });
  });
});
