/**
 * Issue 5: "npm start, then aggctl aggregate-create, aggregate-add-host ×3, aggregate-details works
 * as a new user would run it" — the real commands, as separate processes, and a restart that keeps state.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { SandboxInfo } from "../../sandbox/sandbox.js";

const root = new URL("../..", import.meta.url).pathname;

interface Running {
  child: ChildProcess;
  output: () => string;
}

/** Runs `npm start -- …` and resolves once it printed "sandbox ready". */
function npmStart(stateDir: string): Promise<Running> {
  const child = spawn("npm", ["start", "--", "--state-dir", stateDir, "--port", "0", "--time-scale", "0.01"], {
    cwd: root,
    env: { ...process.env, AGGREGATES_LOG_LEVEL: "error" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", () => output.includes("sandbox ready") && resolve({ child, output: () => output }));
    child.once("exit", (code) => reject(new Error(`npm start exited ${code}:\n${output}`)));
  });
}

/** Sends SIGINT (Ctrl-C) to the whole process group, as a terminal does, and waits for the exit. */
async function stop(r: Running): Promise<string> {
  if (r.child.exitCode !== null || r.child.signalCode !== null) return "already stopped";
  const exited = new Promise<string>((resolve) => r.child.once("exit", (code, signal) => resolve(code === 0 || signal === "SIGINT" ? "clean" : `code ${code} signal ${signal}`)));
  try {
    process.kill(-r.child.pid!, "SIGINT");
  } catch {
    // the group is already gone
  }
  return exited;
}

function aggctl(env: Record<string, string>, ...args: string[]) {
  const result = spawnSync(join(root, "bin/aggctl"), args, { env: { ...process.env, ...env }, encoding: "utf8", timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("the sandbox as a new user runs it", () => {
  const stateDir = mkdtempSync(join(tmpdir(), "aggregates-sandbox-"));
  let running: Running | undefined;
  afterAll(async () => {
    if (running && running.child.exitCode === null) await stop(running);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("npm start, aggregate-create, aggregate-add-host ×3, aggregate-details; Ctrl-C; a restart keeps the pool", async () => {
    running = await npmStart(stateDir);
    const info = JSON.parse(readFileSync(join(stateDir, "sandbox.json"), "utf8")) as SandboxInfo;
    expect(info.hosts.map((h) => h.name)).toEqual(["xs1", "xs2", "xs3"]);
    expect(info.xapi.username).toBe("root");
    const env = { AGGREGATES_ENDPOINT: info.controller, AGGREGATES_TOKEN: readFileSync(join(stateDir, "admin-token"), "utf8").trim() };
    expect(env.AGGREGATES_TOKEN).toBe(info.adminToken);
    // A second npm start on the same state directory is refused: it would drive the same pools and database.
    await expect(npmStart(stateDir)).rejects.toThrow(/state directory .* is in use by process \d+/);

    const hostsBefore = aggctl(env, "host-list");
    expect(hostsBefore.code, hostsBefore.stderr).toBe(0);
    expect(hostsBefore.stdout).toMatch(/xs1\s+no/);

    const created = aggctl(env, "aggregate-create", "pool-a", "az1");
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/name\s+pool-a/);
    for (const host of ["xs1", "xs2", "xs3"]) {
      const added = aggctl(env, "aggregate-add-host", "pool-a", host);
      expect(added.code, added.stderr).toBe(0);
      expect(added.stderr).toMatch(/ADD_HOST SUCCEEDED 100%/);
    }
    const details = aggctl(env, "aggregate-details", "pool-a");
    expect(details.code, details.stderr).toBe(0);
    expect(details.stdout).toMatch(/hosts\s+xs1 \(master\), xs2, xs3/);
    expect(details.stdout).toMatch(/pool_state\s+ACTIVE/);
    const state = (await (await fetch(`${info.simulatorControl}/state`)).json()) as { pools: { name: string; hosts: string[] }[] };
    expect(state.pools.find((p) => p.name === "pool-a")?.hosts.sort()).toEqual(["xs1", "xs2", "xs3"]);

    expect(await stop(running)).toBe("clean");
    expect(running.output()).toContain("stopping");

    running = await npmStart(stateDir);
    // The test asks for free ports (--port 0), so the restarted controller has a new one; the simulator's
    // control API keeps its port (saved in the state dir).
    const reread = JSON.parse(readFileSync(join(stateDir, "sandbox.json"), "utf8")) as typeof info;
    expect(reread.adminToken).toBe(info.adminToken);
    expect(reread.simulatorControl).toBe(info.simulatorControl);
    const again = aggctl({ ...env, AGGREGATES_ENDPOINT: reread.controller }, "aggregate-details", "pool-a");
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/hosts\s+xs1 \(master\), xs2, xs3/);
    const restored = (await (await fetch(`${reread.simulatorControl}/state`)).json()) as { pools: { name: string; hosts: string[] }[] };
    expect(restored.pools.find((p) => p.name === "pool-a")?.hosts.sort()).toEqual(["xs1", "xs2", "xs3"]);
  }, 120_000);
});
