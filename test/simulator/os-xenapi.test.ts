import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "../../simulator/index.js";
import { PASSWORD, startTestSim } from "./helpers.js";

// docs/xenapi-notes.md §Simulator checklist, point 24 (§The reference client): Debian's python3-os-xenapi runs unchanged against the simulator.
const PYTHON = "/usr/bin/python3";
const SCRIPT = fileURLToPath(new URL("./os_xenapi_check.py", import.meta.url));
const probe = spawnSync(PYTHON, ["-c", "from os_xenapi.client import XenAPI"], { encoding: "utf8" });
const available = probe.status === 0;
if (!available) {
  console.warn(
    `SKIPPED os-xenapi acceptance test: ${PYTHON} cannot import os_xenapi.client.XenAPI ` +
      `(install Debian's python3-os-xenapi): ${(probe.stderr ?? String(probe.error ?? "")).trim().split("\n").at(-1) ?? ""}`,
  );
}

let sim: Simulator | undefined;

beforeAll(async () => {
  if (!available) return;
  sim = await startTestSim("127.0.1.10", { hosts: 2 });
  sim.control.addVms("xs1", { count: 2, memoryMiB: 1024 });
  sim.control.addVms("xs1", { powerState: "Halted", namePrefix: "halted" });
});
afterAll(() => sim?.close());

function run(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(PYTHON, [SCRIPT, ...args], { env: { ...process.env, FAKE_XAPI_PASSWORD: PASSWORD } });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("close", (code) => resolve({ code, out }));
  });
}

describe("official Python bindings (os_xenapi.client.XenAPI)", () => {
  it.skipIf(!available)(
    "log in, HOST_IS_SLAVE, join, migrate (sync and Async), Failure.details, SESSION_INVALID re-login, host.reboot",
    async () => {
      const { code, out } = await run([sim!.controlUrl, "root"]);
      expect(out.trim()).toBe("OK");
      expect(code).toBe(0);
      const state = sim!.control.state();
      expect(state.hosts.find((h) => h.name === "xs2")).toMatchObject({ role: "slave", master: "xs1", live: true });
    },
  );
});
