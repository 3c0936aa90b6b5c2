/** RebootHost and RunHook against the simulator: XenServer's refusals, the time stamps to wait on, hooks by name only. */
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { xapiErrorOf } from "../../shared/errors.js";
import { expectInvalidField, expectRpcError } from "../support/rpc-errors.js";
import { eventually, startAgentWorld, xapiPassword, type AgentWorld } from "./agent-harness.js";
import { parseCommandLine } from "../../agent/cli-options.js";

let w: AgentWorld;
const dir = mkdtempSync(join(tmpdir(), "agent-hooks-"));
const script = (name: string, body: string) => {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
};
const hooks = new Map([
  ["ok", script("ok.sh", 'echo "patched $AGGREGATES_HOST_NAME via $AGGREGATES_HOOK"; echo "args:$#"; env | grep -c . >&2')],
  ["fails", script("fails.sh", "echo first; i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done; echo broken >&2; exit 3")],
  ["env", script("env.sh", "env")],
  ["slow", script("slow.sh", "sleep 30")],
  ["missing", join(dir, "does-not-exist")],
]);

beforeAll(async () => {
  process.env.XAPI_PASSWORD_FOR_HOOK_TEST = xapiPassword;
  w = await startAgentWorld({ sim: { hosts: 2, baseAddress: "127.0.13.10" }, agentsFor: ["xs1"] });
  await w.addAgent("xs2", { hooks, hookTimeoutMs: 300 });
  await w.agent("xs2").client.joinPool({ masterAddress: "127.0.13.10" });
});
afterAll(async () => {
  await w?.close();
});

describe("RebootHost", () => {
  it("XenServer refuses an enabled host (HOST_NOT_DISABLED) and one running a guest (HOST_IN_USE)", async () => {
    const xs2 = w.host("xs2").uuid;
    const enabled = await expectRpcError(w.agent("xs1").client.rebootHost({ hostUuid: xs2 }), Code.FailedPrecondition);
    expect(xapiErrorOf(enabled)?.code).toBe("HOST_NOT_DISABLED");
    await w.agent("xs1").client.setHostEnabled({ hostUuid: xs2, enabled: false });
    const [vm] = w.sim.control.addVms("xs2", { count: 1, memoryMiB: 256 });
    const inUse = await expectRpcError(w.agent("xs1").client.rebootHost({ hostUuid: xs2 }), Code.FailedPrecondition);
    expect(xapiErrorOf(inUse)?.code).toBe("HOST_IN_USE");
    await w.agent("xs1").client.migrateVm({ vmUuid: vm!.uuid, targetHostUuid: w.host("xs1").uuid })[Symbol.asyncIterator]().next();
    await w.sim.control.waitFor((s) => s.vms.find((v) => v.uuid === vm!.uuid)?.residentOn === "xs1");
    expect(w.host("xs2").bootCount).toBe(1);
  });

  it("reboots a disabled, empty member through the master and returns the time stamps to wait on", async () => {
    const xs2 = w.host("xs2").uuid;
    const before = (await w.agent("xs1").client.getPoolInfo({})).members.find((m) => m.uuid === xs2)!;
    expect(Number(before.agentStartTime)).toBeGreaterThan(1.7e9);
    const reply = await w.agent("xs1").client.rebootHost({ hostUuid: xs2 });
    expect(reply.previousAgentStartTime).toBe(before.agentStartTime);
    expect(reply.previousBootTime).toBe(before.bootTime);
    expect(Math.abs(Date.parse(reply.serverTime) - Date.now())).toBeLessThan(5000);
    await w.sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs2")?.bootCount === 2, 15_000);
    const back = await eventually("xs2 back: live, with a newer agent_start_time", async () => {
      const m = (await w.agent("xs1").client.getPoolInfo({})).members.find((x) => x.uuid === xs2)!;
      return m.live && Number(m.agentStartTime) > Number(reply.previousAgentStartTime) ? m : undefined;
    });
    expect(Number(back.bootTime)).toBeGreaterThan(Number(before.bootTime));
    // Disabled for good before the reboot (auto_enable=false): it stays disabled until enabled.
    expect(back.enabled).toBe(false);
    const own = await eventually("xs2's own agent reads its XAPI again", async () => {
      try {
        return await w.agent("xs2").client.getHostInfo({});
      } catch {
        return undefined;
      }
    });
    expect(own.agentStartTime).toBe(back.agentStartTime);
    await w.agent("xs1").client.setHostEnabled({ hostUuid: xs2, enabled: true });
  });
});

describe("RunHook", () => {
  const client = () => w.agent("xs2").client;

  it("runs the configured executable by name, without arguments or the agent's environment, and reports its end", async () => {
    const ok = await client().runHook({ name: "ok" });
    expect(ok.exitCode).toBe(0);
    expect(ok.timedOut).toBe(false);
    expect(ok.outputTail).toContain("patched xs2 via ok");
    expect(ok.outputTail).toContain("args:0");
    const env = await client().runHook({ name: "env" });
    expect(env.outputTail).not.toContain(xapiPassword);
    expect(env.outputTail).not.toContain(w.controller.agentToken);
    const keys = env.outputTail.split("\n").filter(Boolean).map((l) => l.split("=")[0]!);
    expect(keys).toEqual(expect.arrayContaining(["AGGREGATES_HOOK", "AGGREGATES_HOST_NAME", "PATH"]));
    // Only the fixed environment (the shell adds PWD, SHLVL, _): none of the agent's variables.
    expect(keys.filter((k) => !["AGGREGATES_HOOK", "AGGREGATES_HOST_NAME", "LANG", "PATH", "PWD", "SHLVL", "_"].includes(k))).toEqual([]);
  });

  it("a failing hook is a result: its exit status and the last 4 KiB of its output", async () => {
    const failed = await client().runHook({ name: "fails" });
    expect(failed.exitCode).toBe(3);
    expect(failed.outputTail.length).toBeLessThanOrEqual(4096);
    expect(failed.outputTail).toMatch(/line-1999\nbroken\n$/);
    expect(failed.outputTail).not.toContain("first");
  });

  it("a hook past the timeout is killed; a missing executable is reported, not thrown", async () => {
    const slow = await client().runHook({ name: "slow" });
    expect([slow.timedOut, slow.exitCode, slow.signal]).toEqual([true, -1, "SIGKILL"]);
    const missing = await client().runHook({ name: "missing" });
    expect(missing.exitCode).toBe(-1);
    expect(missing.outputTail).toContain("ENOENT");
  });

  it("an unknown name is NOT_FOUND, a path or command is INVALID_ARGUMENT, and nothing runs", async () => {
    const unknown = await expectRpcError(client().runHook({ name: "reboot" }), Code.NotFound);
    expect(unknown.rawMessage).toContain("--hook reboot=PATH");
    await expectInvalidField(client().runHook({ name: "/bin/sh" }), "name");
    await expectInvalidField(client().runHook({ name: "ok; rm -rf /" }), "name");
    await expectRpcError(w.agent("xs1").client.runHook({ name: "ok" }), Code.NotFound);
  });
});

describe("--hook flags", () => {
  const base = ["--listen", "127.0.0.1:0", "--host-name", "xs1", "--xapi-url", "http://127.0.0.1/", "--controller", "127.0.0.1:1"];
  const env = { XAPI_PASSWORD: "p", AGGREGATES_AGENT_TOKEN: "t" };
  it("are repeatable NAME=PATH with absolute paths; the timeout is in seconds", () => {
    const req = parseCommandLine([...base, "--hook", "patch=/usr/local/bin/patch", "--hook", "check=/bin/true", "--hook-timeout", "90"], env);
    expect(req.help ? null : [...req.options.hooks!.entries()]).toEqual([["patch", "/usr/local/bin/patch"], ["check", "/bin/true"]]);
    expect(req.help ? null : req.options.hookTimeoutMs).toBe(90_000);
    expect(() => parseCommandLine([...base, "--hook", "patch"], env)).toThrow(/NAME=PATH/);
    expect(() => parseCommandLine([...base, "--hook", "patch=bin/patch"], env)).toThrow(/absolute/);
    expect(() => parseCommandLine([...base, "--hook", "a=/x", "--hook", "a=/y"], env)).toThrow(/twice/);
  });

  it("come from --config as a list of strings", () => {
    const file = join(dir, "agent.json");
    writeFileSync(file, JSON.stringify({ listen: "127.0.0.1:0", "host-name": "xs1", "xapi-url": "http://127.0.0.1/", controller: "127.0.0.1:1", hook: ["patch=/bin/true"] }));
    const req = parseCommandLine(["--config", file], env);
    expect(req.help ? null : [...req.options.hooks!.entries()]).toEqual([["patch", "/bin/true"]]);
    writeFileSync(file, JSON.stringify({ listen: "127.0.0.1:0", "host-name": "xs1", "xapi-url": "http://127.0.0.1/", controller: "127.0.0.1:1", hook: "patch=/bin/true" }));
    expect(() => parseCommandLine(["--config", file], env)).toThrow(/hook/);
  });
});
