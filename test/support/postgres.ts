/**
 * A throwaway PostgreSQL cluster for tests: initdb in a temp directory, pg_ctl start on a free
 * loopback port (as the postgres user when the tests run as root: the server refuses root), stopped
 * and removed after. When initdb/pg_ctl are not installed (Debian's postgresql puts them under
 * /usr/lib/postgresql/N/bin), the suites that need them are skipped with the reason — and fail
 * under CI=true, where .ci/run installs the package.
 */
import { execFile, execFileSync, spawn } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { describe, it } from "vitest";

const run = promisify(execFile);

/** The newest installed PostgreSQL's bin directory, or undefined. */
function findBinDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, "bin", "initdb")) && existsSync(join(root, v, "bin", "pg_ctl")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], "bin");
}

const binDir = findBinDir();

/** Why the PostgreSQL suites cannot run here, or undefined when they can. */
export const postgresMissing = binDir ? undefined : "initdb/pg_ctl not found under /usr/lib/postgresql/*/bin (Debian package postgresql)";

/** Declares a suite that needs PostgreSQL: it runs, or is skipped with the reason (fails under CI=true). */
export function describeOnPostgres(name: string, body: () => void): void {
  if (!postgresMissing) {
    describe(name, body);
  } else if (process.env["CI"] === "true") {
    describe(name, () => it("needs PostgreSQL", () => {
      throw new Error(`PostgreSQL is required under CI: ${postgresMissing}`);
    }));
  } else {
    describe.skip(`${name} (skipped: ${postgresMissing})`, body);
  }
}

/** A running throwaway cluster. */
export interface PostgresCluster {
  readonly port: number;
  /** The URL of a database of this cluster (postgres://aggregates@127.0.0.1:PORT/NAME). */
  url(database: string): string;
  /** Creates an empty database and returns its URL. */
  createDatabase(): Promise<string>;
  /** Restarts the server (a fast shutdown: every connection is cut), on the same port. */
  restart(): Promise<void>;
  /** Stops the server at once and removes its directory. */
  stop(): Promise<void>;
}

const user = "aggregates";

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** Starts a cluster (initdb + pg_ctl start); call stop() after. */
export async function startPostgres(): Promise<PostgresCluster> {
  if (!binDir) throw new Error(postgresMissing);
  const dir = mkdtempSync(join(tmpdir(), "aggregates-pg-"));
  const asRoot = process.getuid?.() === 0;
  // The server refuses to run as root: the cluster belongs to the postgres user then.
  const owner = asRoot ? Number((await run("id", ["-u", "postgres"])).stdout.trim()) : undefined;
  if (owner !== undefined) {
    chownSync(dir, owner, -1);
    chmodSync(dir, 0o700);
  }
  const tool = (name: string, args: string[]) => (owner !== undefined ? run("runuser", ["-u", "postgres", "--", join(binDir, name), ...args]) : run(join(binDir, name), args));
  const data = join(dir, "data");
  const log = join(dir, "server.log");
  // A locale whose order is not byte order (ICU en-US), so that suites show the store does not depend on it.
  await tool("initdb", ["-D", data, "-U", user, "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--locale-provider=icu", "--icu-locale=en-US", "--no-sync", "--no-instructions"]);
  // A test cluster: no fsync (what the tests check is the controller's behaviour, not the disk's).
  const serverOptions = (port: number) => `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`;
  let port = 0;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      await tool("pg_ctl", ["start", "-w", "-t", "30", "-D", data, "-l", log, "-o", serverOptions(port)]);
      break;
    } catch (err) {
      if (attempt >= 3) throw new Error(`pg_ctl start failed: ${String(err)}\n${existsSync(log) ? readFileSync(log, "utf8") : ""}`);
    }
  }
  // Should the test process end without stop() (a hook that timed out, a worker ended by the test
  // runner), the server goes with it: at exit, or else from a watchdog that outlives the process.
  const stopArgs = ["stop", "-m", "immediate", "-D", data];
  const stopCommand = owner !== undefined ? ["runuser", "-u", "postgres", "--", join(binDir, "pg_ctl"), ...stopArgs] : [join(binDir, "pg_ctl"), ...stopArgs];
  const stopAtExit = () => {
    try {
      execFileSync(stopCommand[0]!, stopCommand.slice(1), { stdio: "ignore" });
    } catch {
      // already stopped
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", stopAtExit);
  const quoted = (arg: string) => `'${arg.replaceAll("'", "'\\''")}'`;
  const watchdog = spawn(
    "sh",
    ["-c", `while kill -0 ${process.pid} 2>/dev/null && [ -d ${quoted(data)} ]; do sleep 1; done; ${stopCommand.map(quoted).join(" ")} >/dev/null 2>&1; rm -rf ${quoted(dir)}`],
    { detached: true, stdio: "ignore" },
  );
  watchdog.unref();
  const url = (database: string) => `postgres://${user}@127.0.0.1:${port}/${database}`;
  let databases = 0;
  return {
    port,
    url,
    async createDatabase() {
      const name = `t${++databases}`;
      const admin = new pg.Client({ connectionString: url("postgres") });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      return url(name);
    },
    async restart() {
      await tool("pg_ctl", ["restart", "-w", "-t", "30", "-m", "fast", "-D", data, "-l", log, "-o", serverOptions(port)]);
    },
    async stop() {
      process.off("exit", stopAtExit);
      await tool("pg_ctl", ["stop", "-m", "immediate", "-w", "-D", data]).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let shared: Promise<PostgresCluster> | undefined;

/**
 * With AGGREGATES_TEST_DB=postgres, a new database on one cluster shared by the test file (stopped
 * when the process exits) — the harnesses then run their controller on PostgreSQL; otherwise
 * undefined (they use SQLite). Throws when PostgreSQL is asked for but missing.
 */
export async function testDatabaseFromEnv(): Promise<string | undefined> {
  if (process.env["AGGREGATES_TEST_DB"] !== "postgres") return undefined;
  if (postgresMissing) throw new Error(`AGGREGATES_TEST_DB=postgres: ${postgresMissing}`);
  shared ??= startPostgres();
  return (await shared).createDatabase();
}
