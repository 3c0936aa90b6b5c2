/**
 * bin/aggregates-agent: flag errors exit 2; from another directory it serves, registers, and stops
 * on SIGTERM; a second agent under a live host's name exits 3; with --metrics-listen it serves
 * Prometheus metrics (docs/metrics.md).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../../simulator/index.js";
import { startTestController, type TestController } from "../support/controller-harness.js";
import { scrape } from "../support/metrics-scrape.js";
import { eventually } from "./agent-harness.js";

const bin = resolve(import.meta.dirname, "../../bin/aggregates-agent");
const password = "cli-Secret-Pa55";
let sim: Simulator;
let controller: TestController;
let dir: string;

interface Run {
  code: Promise<number | null>;
  stdout: () => string;
  stderr: () => string;
  kill(signal: NodeJS.Signals): void;
}

function run(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(bin, args, { cwd: tmpdir(), env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  return {
    code: new Promise((done) => child.on("exit", (code) => done(code))),
    stdout: () => out,
    stderr: () => err,
    kill: (signal) => child.kill(signal),
  };
}

beforeAll(async () => {
  sim = await startSimulator({ hosts: 1, baseAddress: "127.0.0.190", timeScale: 0.01, password });
  controller = await startTestController({ heartbeatIntervalMs: 200 });
  dir = mkdtempSync(join(tmpdir(), "agent-cli-"));
});
afterAll(async () => {
  await controller?.close();
  await sim?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("aggregates-agent", () => {
  it("exits 2 with a clear message on bad flags or missing credentials", async () => {
    const unknown = run(["--bogus"]);
    const noPassword = run(["--listen", "127.0.0.1:0", "--host-name", "xs1", "--xapi-url", "http://127.0.0.1:1/", "--controller", "127.0.0.1:1"]);
    const badUrl = run(["--listen", "127.0.0.1:0", "--host-name", "xs1", "--xapi-url", "http://root:pw@h/", "--controller", "127.0.0.1:1"], { XAPI_PASSWORD: "x", AGGREGATES_AGENT_TOKEN: "t" });
    expect(await unknown.code).toBe(2);
    expect(unknown.stderr()).toMatch(/aggregates-agent: Unknown option '--bogus'[\s\S]*usage: aggregates-agent/);
    expect(await noPassword.code).toBe(2);
    expect(noPassword.stderr()).toContain("the XAPI password is required: --xapi-password-file FILE or XAPI_PASSWORD");
    expect(await badUrl.code).toBe(2);
    expect(badUrl.stderr()).toContain("must not contain credentials");
    const badMetrics = run(["--listen", "127.0.0.1:0", "--host-name", "xs1", "--xapi-url", "http://127.0.0.1:1/", "--controller", "127.0.0.1:1", "--metrics-listen", "9100"], { XAPI_PASSWORD: "x", AGGREGATES_AGENT_TOKEN: "t" });
    expect(await badMetrics.code).toBe(2);
    expect(badMetrics.stderr()).toContain('--metrics-listen: expected HOST:PORT, got "9100"');
  });

  it("documents --metrics-listen in --help", async () => {
    const help = run(["--help"]);
    expect(await help.code).toBe(0);
    expect(help.stdout()).toMatch(/--metrics-listen\s+serve Prometheus metrics at http:\/\/HOST:PORT\/metrics/);
  });

  it("serves Prometheus metrics with --metrics-listen: its XenAPI calls, process metrics, labelled with its host", async () => {
    const tokenFile = join(dir, "agent-token-metrics");
    writeFileSync(tokenFile, `${controller.agentToken}\n`, { mode: 0o600 });
    const agent = run(
      ["--listen", "127.0.0.1:0", "--host-name", "cli-metrics", "--xapi-url", sim.hosts[0]!.url, "--controller", controller.grpcEndpoint, "--token-file", tokenFile, "--metrics-listen", "127.0.0.1:0"],
      { XAPI_PASSWORD: password },
    );
    try {
      const url = await eventually("the metrics address", () => /Prometheus metrics on (http:\/\/\S+\/metrics)/.exec(agent.stdout())?.[1], 15_000);
      const s = await eventually("a heartbeat counted", async () => {
        const current = await scrape(url);
        return current.value("hostaggregates_agent_heartbeats_total") >= 1 ? current : undefined;
      }, 15_000);
      expect(s.histogram("hostaggregates_agent_xapi_call_duration_seconds", { method: "session.login_with_password", host: "cli-metrics" }).count).toBeGreaterThanOrEqual(1);
      expect(s.value("process_cpu_user_seconds_total", { host: "cli-metrics" })).toBeGreaterThan(0);
      expect(s.text).not.toContain(password);
      expect(s.text).not.toContain(controller.agentToken);
      expect((await fetch(url.replace(/\/metrics$/, "/other"))).status).toBe(404);
    } finally {
      agent.kill("SIGTERM");
    }
    expect(await agent.code).toBe(0);
  });

  it("runs from another directory, registers its host, and stops gracefully on SIGTERM", async () => {
    const tokenFile = join(dir, "agent-token");
    writeFileSync(tokenFile, `${controller.agentToken}\n`, { mode: 0o600 });
    const agent = run(
      ["--listen", "127.0.0.1:0", "--host-name", "cli-host", "--xapi-url", sim.hosts[0]!.url, "--controller", controller.grpcEndpoint, "--token-file", tokenFile, "--availability-zone", "az-cli"],
      { XAPI_PASSWORD: password },
    );
    try {
      const host = await eventually("the agent to register", () => controller.hosts.getHost({ name: "cli-host" }).catch(() => undefined), 15_000);
      expect([host.enabled, host.availabilityZoneHint, host.pool?.hostUuid]).toEqual([false, "az-cli", sim.hosts[0]!.uuid]);
      expect(agent.stdout()).toContain(`serving PoolAgentService on ${host.agentEndpoint}`);
    } finally {
      agent.kill("SIGTERM");
    }
    expect(await agent.code).toBe(0);
    expect(agent.stdout() + agent.stderr()).not.toContain(password);
  });

  it("a second agent under the name of a live host says why and exits 3; the first keeps the name", async () => {
    const tokenFile = join(dir, "agent-token-dup");
    writeFileSync(tokenFile, `${controller.agentToken}\n`, { mode: 0o600 });
    const args = ["--listen", "127.0.0.1:0", "--host-name", "cli-dup", "--xapi-url", sim.hosts[0]!.url, "--controller", controller.grpcEndpoint, "--token-file", tokenFile];
    const first = run(args, { XAPI_PASSWORD: password });
    try {
      const host = await eventually("the first agent to register", () => controller.hosts.getHost({ name: "cli-dup" }).catch(() => undefined), 15_000);
      const second = run(args, { XAPI_PASSWORD: password });
      expect(await second.code).toBe(3);
      expect(second.stderr()).toContain(`aggregates-agent: the controller refused this agent: host name "cli-dup" is held by a live agent at ${host.agentEndpoint}`);
      expect(second.stderr()).toContain("registration refused");
      expect((await controller.hosts.getHost({ name: "cli-dup" })).agentEndpoint).toBe(host.agentEndpoint);
    } finally {
      first.kill("SIGTERM");
    }
    expect(await first.code).toBe(0);
  });
});
