/**
 * `npm start -- --replicas 3` as a user runs it: three controllers on a PostgreSQL cluster of the
 * sandbox's own in its state directory, every one serving, agents and aggctl given all endpoints; the
 * cluster stopped on Ctrl-C and found again by the next start. Replicas without PostgreSQL are a usage error.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { connect } from "../../cli/api-clients.js";
import { aggctlWith } from "../cli/aggctl-process.js";
import { describeOnPostgres } from "../support/postgres.js";
import { sandboxDatabase } from "../../sandbox/sandbox-database.js";
import { SandboxProcess } from "./interruption-harness.js";

const root = new URL("../..", import.meta.url).pathname;
const stateDir = mkdtempSync(join(tmpdir(), "aggregates-sandbox-replicas-"));
const args = ["--replicas", "3", "--hosts", "2", "--vms-per-host", "0", "--time-scale", "0.01"];

afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

describeOnPostgres("npm start -- --replicas 3", () => {
  it("runs three controllers on its own PostgreSQL, each serving the whole API; a restart finds the same database", async () => {
    let sandbox: SandboxProcess | undefined = await SandboxProcess.start(stateDir, args);
    try {
      const { info } = sandbox;
      expect(info.controllers).toHaveLength(3);
      expect(new Set(info.controllers).size).toBe(3);
      expect(info.controller).toBe(info.controllers[0]);
      const apis = info.controllers.map((endpoint) => connect({ endpoint, token: info.adminToken }));
      for (const api of apis) expect((await api.hosts.listHosts({})).hosts.map((h) => h.name).sort()).toEqual(["xs1", "xs2"]);
      // A write on one replica is read on the others: one database.
      const created = await apis[2]!.aggregates.createAggregate({ name: "pool-ha" });
      for (const api of apis) expect((await api.aggregates.getAggregate({ id: created.id })).name).toBe("pool-ha");
      // aggctl given every endpoint, the first of which is not one.
      const r = await aggctlWith({ AGGREGATES_ENDPOINT: `127.0.0.1:1,${info.controllers.join(",")}`, AGGREGATES_TOKEN: info.adminToken }, "--json", "aggregate-list");
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain("pool-ha");

      const { status } = await sandbox.interrupt();
      // npm ends by the SIGINT it passed on; the sandbox itself stopped everything first.
      expect(status.code === 0 || status.signal === "SIGINT").toBe(true);
      expect(sandbox.output()).toContain("stopping…");
      sandbox = undefined;
      // Ctrl-C stopped the cluster too (its server removes the pid file when it shuts down).
      expect(existsSync(join(stateDir, "postgres", "data", "postmaster.pid"))).toBe(false);

      sandbox = await SandboxProcess.start(stateDir, args);
      const again = connect({ endpoint: sandbox.info.controllers[1]!, token: sandbox.info.adminToken });
      expect((await again.aggregates.getAggregate({ id: created.id })).name).toBe("pool-ha");
    } finally {
      await sandbox?.interrupt();
    }
  }, 120_000);
});

it("--replicas with a SQLite --db is a usage error naming PostgreSQL", () => {
  const result = spawnSync("node", ["--import", "tsx", "sandbox/main.ts", "--state-dir", join(stateDir, "sqlite"), "--port", "0", "--replicas", "2", "--db", "x.db"], {
    cwd: root,
    encoding: "utf8",
    timeout: 60_000,
  });
  expect(result.status).toBe(2);
  expect(result.stderr).toContain('sandbox: --replicas 2 needs PostgreSQL: --db must be a postgres:// URL, got "x.db"');
  expect(result.stderr).toContain("usage: npm start");
});

it("--replicas without --db where PostgreSQL is not installed is refused, naming what to install", async () => {
  await expect(sandboxDatabase(join(stateDir, "no-pg"), 3, undefined, () => undefined)).rejects.toThrow(
    "--replicas 3 needs PostgreSQL: give --db postgres://USER@HOST:PORT/DB, or install it for a cluster in the state directory: initdb/pg_ctl not found on PATH or under /usr/lib/postgresql/*/bin (install Debian's package postgresql)",
  );
});
