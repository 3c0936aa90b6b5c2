/**
 * The build (tsconfig.build.json, what `npm run build` runs) as it is deployed: compiled once per
 * file into a temporary root that holds only bin/, dist/ and a link to node_modules — no TypeScript
 * sources, so the launchers can only run dist/. Real processes: the built simulator, controller and
 * agent configured by --config files (flags overriding them), and aggctl calls against them.
 * The repository's own dist/ is never touched, so suites running meanwhile are not disturbed.
 */
import { execFile, spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/eventually.js";

const repo = resolve(import.meta.dirname, "../..");
const password = "dist-Secret-Pa55";
const adminToken = "dist-admin-token";
const agentToken = "dist-agent-token";
let root: string;
let dir: string;
const running: Proc[] = [];

interface Proc {
  output(): string;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/** Starts one of the temporary root's launchers (from another working directory). */
function start(name: string, args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(join(root, "bin", name), args, {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "", AGGREGATES_LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((done) => child.on("close", (code) => done(code)));
  const proc: Proc = {
    output: () => out,
    exited,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
  running.push(proc);
  return proc;
}

/** Waits until a process printed a line matching re. */
function printed(p: Proc, re: RegExp, what: string): Promise<RegExpExecArray> {
  let ended = false;
  void p.exited.then(() => (ended = true));
  return eventually(what, () => {
    const m = re.exec(p.output());
    if (!m && ended) throw new Error(`exited before ${what}:\n${p.output()}`);
    return m ?? undefined;
  }, 30_000);
}

async function aggctl(endpoint: string, ...args: string[]): Promise<{ code: number | null; out: string }> {
  const p = start("aggctl", ["--endpoint", endpoint, "--token", adminToken, ...args]);
  return { code: await p.exited, out: p.output() };
}

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}
const writeJson = (name: string, value: unknown) => write(name, JSON.stringify(value, null, 2));

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "aggregates-dist-"));
  dir = join(root, "work"); // the working directory of every process, and its files
  mkdirSync(dir);
  cpSync(join(repo, "bin"), join(root, "bin"), { recursive: true });
  symlinkSync(realpathSync(join(repo, "node_modules")), join(root, "node_modules"));
  // What `npm run build` runs: tsc, then the daemons' entries bundled in place.
  const tsc = join(repo, "node_modules/typescript/bin/tsc");
  await promisify(execFile)(process.execPath, [tsc, "-p", "tsconfig.build.json", "--outDir", join(root, "dist")], { cwd: repo });
  await promisify(execFile)(process.execPath, ["--import", "tsx", join(repo, "build/bundle.ts"), join(root, "dist")], { cwd: repo });
}, 240_000);

afterAll(async () => {
  await Promise.all(running.map((p) => p.stop()));
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("the build", () => {
  it("holds the runtime folders only, and aggctl runs from it", async () => {
    expect(readdirSync(join(root, "dist")).sort()).toEqual(["agent", "cli", "controller", "gen", "sandbox", "shared", "simulator"]);
    const files = readdirSync(join(root, "dist"), { recursive: true }).map(String);
    expect(files.filter((f) => f.endsWith(".ts") || f.includes(".spec."))).toEqual([]);
    // The daemons run one bundled file each, aggctl its entry and chunks in cli/chunks/: they load only
    // Node's own modules, better-sqlite3, pg-native (never installed here; pg asks for it only when told
    // to go native) and, for aggctl, its chunks.
    const loadedBy = (file: string) => {
      const text = readFileSync(join(root, "dist", file), "utf8");
      return [/^import\b[^"\n]*"([^"]+)"/gm, /\bimport\("([^"]+)"\)/g, /\b__require\("([^"]+)"\)/g].flatMap((re) => [...text.matchAll(re)].map((m) => m[1]!));
    };
    const outside = (spec: string) => !isBuiltin(spec) && spec !== "better-sqlite3" && spec !== "pg-native";
    for (const entry of ["controller/main.js", "agent/main.js", "simulator/main.js"]) {
      expect(loadedBy(entry).length, entry).toBeGreaterThan(0);
      expect(loadedBy(entry).filter(outside), entry).toEqual([]);
    }
    const chunks = readdirSync(join(root, "dist/cli/chunks")).filter((f) => f.endsWith(".js"));
    expect(chunks.length).toBeGreaterThan(0);
    expect(loadedBy("cli/main.js").filter((spec) => outside(spec) && !/^\.\/chunks\/[^/]+\.js$/.test(spec))).toEqual([]);
    for (const chunk of chunks) expect(loadedBy(`cli/chunks/${chunk}`).filter((spec) => outside(spec) && !/^\.\/[^/]+\.js$/.test(spec)), chunk).toEqual([]);
    const help = start("aggctl", ["--help"]);
    expect(await help.exited).toBe(0);
    expect(help.output()).toMatch(/^usage: aggctl [\s\S]*aggregate-add-host ID HOST/);
    const unknown = start("aggctl", ["no-such-command"]);
    expect(await unknown.exited).toBe(2);
    expect(unknown.output()).toContain('aggctl: unknown command "no-such-command"');
  });

  it("runs the simulator, the controller and an agent configured by --config (flags override it); aggctl drives them", async () => {
    const sim = start("fake-xapi", ["--hosts", "1", "--base-address", "127.0.9.10", "--port", "0", "--time-scale", "0.01"], { FAKE_XAPI_PASSWORD: password });
    const xapiUrl = (await printed(sim, /^\s+xs1 (http:\/\/\S+\/)/m, "the simulator's host URL"))[1]!;

    const tokensFile = writeJson("tokens.json", [
      { token: adminToken, role: "admin" },
      { token: agentToken, role: "agent" },
    ]);
    const controllerTokenFile = write("controller-token", "dist-controller-token\n");
    const db = join(dir, "controller.db");
    const controllerConfig = writeJson("controller.json", {
      listen: "127.0.0.1:1", // overridden by --listen below
      "http-listen": "off",
      db,
      "tokens-file": tokensFile,
      "agent-token-file": controllerTokenFile, // what the controller presents to agents
      "heartbeat-interval": 0.2,
      "reconcile-interval": 0,
    });
    const controller = start("aggregates-controller", ["--config", controllerConfig, "--listen", "127.0.0.1:0"]);
    await printed(controller, /^authenticate with/m, "the controller to serve"); // its last start-up line
    const endpoint = /^controller serving gRPC on (127\.0\.0\.1:\d+)$/m.exec(controller.output())?.[1] ?? "";
    expect(endpoint).not.toBe("127.0.0.1:1");
    expect(controller.output()).toContain(`database: ${db}`);
    expect(controller.output()).not.toContain("Connect/JSON"); // http-listen "off" from the file

    const agentConfig = writeJson("agent.json", {
      listen: "127.0.0.1:0",
      "host-name": "dist-host",
      "xapi-url": xapiUrl,
      "xapi-password-file": write("xapi-password", `${password}\n`),
      controller: endpoint,
      "token-file": write("agent-token", `${agentToken}\n`),
      "controller-token-file": controllerTokenFile, // the only token this agent accepts
      "availability-zone": "az-file", // overridden by --availability-zone below
      "heartbeat-interval": 0.2,
      "metrics-listen": "127.0.0.1:0", // core's flag, from the file too
    });
    const agent = start("aggregates-agent", ["--config", agentConfig, "--availability-zone", "az-flag"]);
    await printed(agent, /serving PoolAgentService on/, "the agent to serve");
    const metricsUrl = (await printed(agent, /^Prometheus metrics on (http:\/\/\S+\/metrics)$/m, "the agent's metrics listener"))[1]!;
    expect(await (await fetch(metricsUrl)).text()).toMatch(/^# HELP /m);

    let last = "";
    const shown = await eventually("dist-host to register", async () => {
      const r = await aggctl(endpoint, "--json", "host-show", "dist-host");
      last = r.out;
      return r.code === 0 ? (JSON.parse(r.out) as { name: string; availabilityZoneHint: string; enabled?: boolean }) : undefined;
    }, 30_000).catch((err: Error) => {
      throw new Error(`${err.message}\n--- aggctl ---\n${last}--- agent ---\n${agent.output()}`);
    });
    expect([shown.name, shown.availabilityZoneHint, shown.enabled ?? false]).toEqual(["dist-host", "az-flag", false]);

    expect(await aggctl(endpoint, "aggregate-create", "dist-pool", "az-flag")).toMatchObject({ code: 0 });
    const added = await aggctl(endpoint, "aggregate-add-host", "dist-pool", "dist-host");
    expect(added).toEqual({ code: 0, out: expect.stringMatching(/pool_state\s+ACTIVE[\s\S]*pool_master\s+dist-host/) });

    expect(await agent.stop()).toBe(0);
    expect(await controller.stop()).toBe(0);
    expect(await sim.stop()).toBe(0);
    expect(agent.output() + controller.output()).not.toContain(password);
  });

  it("takes the console and HTTP flags from the config file", async () => {
    const base = { listen: "127.0.0.1:0", "http-listen": "127.0.0.1:0", "tokens-file": writeJson("tokens-http.json", [{ token: adminToken, role: "admin" }]) };
    const off = start("aggregates-controller", ["--config", writeJson("console-off.json", { ...base, db: join(dir, "off.db"), "console-dir": "off" })]);
    await printed(off, /^authenticate with/m, "the controller without a console to serve");
    expect(off.output()).toMatch(/^Prometheus metrics on http:\/\/127\.0\.0\.1:\d+\/metrics/m);
    expect(off.output()).not.toContain("web console");
    const consoleDir = join(dir, "console");
    mkdirSync(consoleDir);
    writeFileSync(join(consoleDir, "index.html"), "<!doctype html><title>dist console</title>");
    const on = start("aggregates-controller", ["--config", writeJson("console-on.json", { ...base, db: join(dir, "on.db"), "console-dir": consoleDir })]);
    const ui = (await printed(on, /^web console on (http:\/\/\S+\/ui\/)$/m, "the controller with a console"))[1]!;
    expect(await (await fetch(ui)).text()).toContain("dist console");
    expect([await off.stop(), await on.stop()]).toEqual([0, 0]);
  });

  it("refuses a config file with an unknown key, naming it", async () => {
    const controller = start("aggregates-controller", ["--config", writeJson("bad-controller.json", { listen: "127.0.0.1:0", lisen: "127.0.0.1:0" })]);
    const agent = start("aggregates-agent", ["--config", writeJson("bad-agent.json", { hostname: "xs1" })]);
    expect(await controller.exited).toBe(2);
    expect(controller.output()).toMatch(/^aggregates-controller: --config \S+bad-controller\.json: unknown key "lisen"; the keys are the flags without "--": listen, http-listen, /);
    expect(await agent.exited).toBe(2);
    expect(agent.output()).toMatch(/^aggregates-agent: --config \S+bad-agent\.json: unknown key "hostname"; the keys are the flags without "--": listen, advertise-endpoint, host-name, /);
  });
});
