/**
 * A PostgreSQL cluster of our own in a directory, for the sandbox's replicas, the benchmarks and the
 * tests: initdb on first use, pg_ctl start on a free loopback port (as the postgres user when run as
 * root: the server refuses root), trust authentication for the user "aggregates", no other address.
 * Should the process that started it end without stop(), a watchdog stops the server after it.
 */
import { execFile, spawn } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";

const run = promisify(execFile);

const hasTools = (dir: string) => existsSync(join(dir, "initdb")) && existsSync(join(dir, "pg_ctl"));

/** The directory of initdb and pg_ctl: on PATH, else the newest under /usr/lib/postgresql/N/bin (Debian), else undefined. */
export function findPostgresBinDir(path = process.env["PATH"] ?? ""): string | undefined {
  const onPath = path.split(delimiter).find((dir) => dir !== "" && hasTools(dir));
  if (onPath) return onPath;
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => hasTools(join(root, v, "bin")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], "bin");
}

/** What to say when initdb/pg_ctl are not installed. */
export const postgresMissingReason = "initdb/pg_ctl not found on PATH or under /usr/lib/postgresql/*/bin (install Debian's package postgresql)";

/** The database user of every such cluster. */
export const clusterUser = "aggregates";

/** Options of startPostgresCluster. */
export interface PostgresClusterOptions {
  /** The cluster's directory (data, socket, server log); created, and initialised when it holds no cluster yet. */
  dir: string;
  /** Remove the directory when stopped (a throwaway cluster of a test or a benchmark). */
  removeOnStop: boolean;
  /** Leave fsync off (tests: what they check is the controller's behaviour, not the disk's). */
  noFsync?: boolean;
}

/** A running cluster. */
export interface PostgresCluster {
  readonly port: number;
  /** The URL of a database of this cluster (postgres://aggregates@127.0.0.1:PORT/NAME). */
  url(database: string): string;
  /** Creates the database unless it exists; returns its URL. */
  ensureDatabase(name: string): Promise<string>;
  /** Restarts the server (a fast shutdown: every connection is cut), on the same port. */
  restart(): Promise<void>;
  /** Stops the server (fast shutdown) and, when removeOnStop, removes the directory. */
  stop(): Promise<void>;
}

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

const quoted = (arg: string) => `'${arg.replaceAll("'", "'\\''")}'`;

/** Starts the cluster in options.dir (initdb first when it holds none); throws postgresMissingReason when not installed. */
export async function startPostgresCluster(options: PostgresClusterOptions): Promise<PostgresCluster> {
  const binDir = findPostgresBinDir();
  if (!binDir) throw new Error(postgresMissingReason);
  const { dir } = options;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // The server refuses to run as root: the cluster belongs to the postgres user then.
  const owner = process.getuid?.() === 0 ? Number((await run("id", ["-u", "postgres"])).stdout.trim()) : undefined;
  if (owner !== undefined) {
    chownSync(dir, owner, -1);
    chmodSync(dir, 0o700);
  }
  const command = (name: string, args: string[]) => (owner !== undefined ? ["runuser", "-u", "postgres", "--", join(binDir, name), ...args] : [join(binDir, name), ...args]);
  const tool = (name: string, args: string[]) => {
    const [file, ...rest] = command(name, args);
    return run(file!, rest);
  };
  const data = join(dir, "data");
  const log = join(dir, "server.log");
  if (!existsSync(join(data, "PG_VERSION"))) {
    rmSync(data, { recursive: true, force: true });
    // A locale whose order is not byte order (ICU en-US): the store must not depend on it.
    await tool("initdb", ["-D", data, "-U", clusterUser, "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--locale-provider=icu", "--icu-locale=en-US", "--no-sync", "--no-instructions"]);
  }
  // A server left running by a process that was killed before its watchdog stopped it.
  await tool("pg_ctl", ["stop", "-m", "fast", "-w", "-D", data]).catch(() => {});
  const serverOptions = (port: number) => `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=100${options.noFsync ? " -c fsync=off" : ""}`;
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
  // The watchdog: stops the server (and removes a throwaway directory) once this process is gone.
  const stopCommand = command("pg_ctl", ["stop", "-m", "immediate", "-D", data]).map(quoted).join(" ");
  const removal = options.removeOnStop ? `; rm -rf ${quoted(dir)}` : "";
  const watchdog = spawn("sh", ["-c", `while kill -0 ${process.pid} 2>/dev/null && [ -d ${quoted(data)} ]; do sleep 1; done; ${stopCommand} >/dev/null 2>&1${removal}`], {
    detached: true,
    stdio: "ignore",
  });
  watchdog.unref();
  const url = (database: string) => `postgres://${clusterUser}@127.0.0.1:${port}/${database}`;
  let stopping: Promise<void> | undefined;
  return {
    port,
    url,
    async ensureDatabase(name) {
      if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new Error(`database name "${name}": lower-case letters, digits and _ only`);
      const admin = new pg.Client({ connectionString: url("postgres") });
      await admin.connect();
      try {
        const found = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
        if (found.rowCount === 0) await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      return url(name);
    },
    async restart() {
      await tool("pg_ctl", ["restart", "-w", "-t", "30", "-m", "fast", "-D", data, "-l", log, "-o", serverOptions(port)]);
    },
    stop: () =>
      (stopping ??= (async () => {
        watchdog.kill();
        await tool("pg_ctl", ["stop", "-m", options.removeOnStop ? "immediate" : "fast", "-w", "-D", data]).catch(() => {});
        if (options.removeOnStop) rmSync(dir, { recursive: true, force: true });
      })()),
  };
}
