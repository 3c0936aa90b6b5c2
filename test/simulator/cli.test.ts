import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Xapi } from "./helpers.js";

// bin/fake-xapi: flags, printed URLs, clean SIGTERM, works from another cwd.
const BIN = fileURLToPath(new URL("../../bin/fake-xapi", import.meta.url));

function start(args: string[]) {
  const child = spawn(BIN, args, { cwd: "/tmp", env: { ...process.env, FAKE_XAPI_PASSWORD: "pw" } });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  const ready = new Promise<string>((resolve, reject) => {
    child.stdout.on("data", () => {
      if (/control: http:\/\/\S+\n/.test(out)) resolve(out);
    });
    child.on("close", () => reject(new Error(`exited early:\n${out}`)));
  });
  ready.catch(() => undefined);
  return { child, ready, exited, output: () => out };
}

describe("bin/fake-xapi", () => {
  it("starts the hosts, prints every URL and the control URL, and exits cleanly on SIGTERM", async () => {
    const p = start(["--hosts", "2", "--base-address", "127.0.1.70", "--port", "0", "--time-scale", "0.001", "--vms-per-host", "1"]);
    const out = await p.ready;
    const urls = [...out.matchAll(/^\s+(xs\d) (http:\/\/[\d.]+:\d+\/)/gm)].map((x) => [x[1], x[2]]);
    expect(urls.map((u) => u[0])).toEqual(["xs1", "xs2"]);
    expect(urls[0]![1]).toMatch(/^http:\/\/127\.0\.1\.70:\d+\/$/);
    expect(out).not.toContain("pw");
    const control = /control: (http:\/\/\S+)/.exec(out)![1]!;
    const state = (await (await fetch(`${control}/state`)).json()) as { vms: unknown[] };
    expect(state.vms).toHaveLength(2);
    const c = new Xapi(urls[1]![1]!);
    await c.login("root", "pw");
    expect(await c.ok<string[]>("host.get_all")).toHaveLength(1);
    p.child.kill("SIGTERM");
    expect(await p.exited).toBe(0);
    expect(p.output()).toContain("SIGTERM, shutting down");
  });

  it("prints usage with --help and rejects unknown flags", async () => {
    const help = start(["--help"]);
    const bad = start(["--nope"]);
    expect(await help.exited).toBe(0);
    expect(help.output()).toContain("usage: fake-xapi --hosts N");
    expect(await bad.exited).toBe(2);
    expect(bad.output()).toContain("Unknown option");
  });
});
