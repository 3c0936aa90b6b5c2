/** The sandbox keeps its simulator's control port across restarts of one state directory, unless it is taken. */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { simulatorControlPortFile } from "../../sandbox/saved-port.js";
import { startSandbox } from "../../sandbox/sandbox.js";
import { silentLogger } from "../../shared/logging.js";

const stateDir = mkdtempSync(join(tmpdir(), "aggregates-sandbox-ports-"));
const start = () => startSandbox({ hosts: 1, vmsPerHost: 0, port: 0, stateDir, timeScale: 0.01, pollIntervalMs: 20, baseAddress: "127.0.0.215", log: silentLogger });
const portOf = (url: string) => Number(new URL(url).port);
const savedPort = () => Number(readFileSync(join(stateDir, simulatorControlPortFile), "utf8"));

afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

describe("the simulator control port of a sandbox", () => {
  it("is the same after a restart, and a new one (saved) when the old one is taken", async () => {
    const first = await start();
    const url = first.info.simulatorControl;
    await first.close();
    expect(savedPort()).toBe(portOf(url));

    const second = await start();
    try {
      expect(second.info.simulatorControl).toBe(url);
      expect(JSON.parse(readFileSync(join(stateDir, "sandbox.json"), "utf8")).simulatorControl).toBe(url);
      expect((await fetch(`${url}/state`)).ok).toBe(true);
    } finally {
      await second.close();
    }

    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(portOf(url), "127.0.0.1", resolve));
    try {
      const third = await start();
      try {
        expect(third.info.simulatorControl).not.toBe(url);
        expect(savedPort()).toBe(portOf(third.info.simulatorControl));
        expect((await fetch(`${third.info.simulatorControl}/state`)).ok).toBe(true);
      } finally {
        await third.close();
      }
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
  }, 60_000);
});
