/**
 * Test harness for the os-aggregates REST API: a real controller (loopback port 0, temp-dir DB),
 * `fetch` helpers that speak Nova's API, the stand-in agent of test/support/fake-agent.ts (so
 * RemoveHost can be accepted without a XenServer), and runners for Debian's nova/openstack CLIs.
 */
import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { hostRegistration, startTestController, type TestController } from "../support/controller-harness.js";

/** Starts a controller for REST tests: no reconciler, quick retries and step deadlines. */
export function startRestController(): Promise<TestController> {
  return startTestController({ reconcileIntervalMs: 0, retryDelayMs: 50, stepTimeoutMs: 2_000 });
}

/** A REST answer. */
export interface RestAnswer {
  status: number;
  headers: Headers;
  /** Parsed JSON body, or undefined when empty (untyped: tests check it field by field). */
  json: any;
  text: string;
}

/** Calls the REST API; `token` defaults to the admin token (null sends none). */
export async function rest(
  h: TestController,
  method: string,
  path: string,
  options: { body?: unknown; rawBody?: string; token?: string | null; headers?: Record<string, string> } = {},
): Promise<RestAnswer> {
  const headers: Record<string, string> = { accept: "application/json", ...options.headers };
  const token = options.token === undefined ? h.adminToken : options.token;
  if (token !== null) headers["x-auth-token"] = token;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers["content-type"] ??= "application/json";
  const res = await fetch(`${h.httpUrl}${path}`, { method, headers, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text === "" ? undefined : JSON.parse(text), text };
}

export { startFakeAgent, type FakeAgent } from "../support/fake-agent.js";

/** Registers hosts (as their agents would, with the agent token) whose agent is `agentEndpoint`. */
export async function registerHosts(h: TestController, names: string[], agentEndpoint: string): Promise<void> {
  for (const name of names) await h.registry.registerHost(hostRegistration(name, { agentEndpoint }));
}

/** The absolute path of a program on PATH, or undefined. */
export function which(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

const run = promisify(execFile);

/** What a CLI printed. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs an OpenStack CLI with admin-token auth against the controller's v2.1 endpoint. The environment
 * is minimal (no OS_* from the caller); `env` adds to it.
 */
export async function runCli(program: string, h: TestController, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const auth = ["--os-auth-type", "admin_token", "--os-endpoint", `${h.httpUrl}/v2.1`, "--os-token", h.adminToken];
  try {
    const { stdout, stderr } = await run(program, [...auth, ...args], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", LANG: "C.UTF-8", PYTHONWARNINGS: "ignore", ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? String(err) };
  }
}

/** The rows of a prettytable as printed by novaclient, keyed by column header. */
export function parseTable(output: string): Record<string, string>[] {
  const lines = output.split("\n").filter((l) => l.startsWith("|"));
  if (lines.length === 0) return [];
  const cells = (line: string) => line.slice(1, -1).split("|").map((c) => c.trim());
  const header = cells(lines[0]!);
  return lines.slice(1).map((line) => Object.fromEntries(cells(line).map((c, i) => [header[i]!, c])));
}
