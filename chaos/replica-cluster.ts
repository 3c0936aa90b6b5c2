/**
 * The product with controller replicas, every part a process of its own: a PostgreSQL cluster of its
 * own (sandbox/postgres-cluster.ts), bin/fake-xapi, N bin/aggregates-controller on that one database
 * (replica ids r1…rN, each restarted on the port it had) and one bin/aggregates-agent per simulated
 * host given every replica's endpoint. The agents log at info level, so what each one was asked to do,
 * and by which replica (x-aggregates-replica), can be read from their output. Used by the replica
 * acceptance tests and the failover benchmark.
 */
import { randomBytes } from "node:crypto";
import { waitRegistered } from "./wait-registered.js";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { connect, type ApiClients } from "../cli/api-clients.js";
import { startPostgresCluster, type PostgresCluster } from "../sandbox/postgres-cluster.js";
import { Daemon } from "./daemon.js";
import { SimulatorProcess } from "./processes.js";

const root = new URL("..", import.meta.url).pathname;

/** Settings of a replica cluster. */
export interface ReplicaClusterOptions {
  hosts: number;
  /** Address of the first simulated host; give every test file its own range. */
  baseAddress: string;
  /** Simulator clock: real duration = nominal × timeScale. */
  timeScale: number;
  /** Controller replicas (default 3). */
  replicas?: number;
  /** --lease-ttl of every replica, in seconds. */
  leaseTtlSeconds: number;
  /** Seconds between heartbeats (agents and controllers; default 0.2). */
  heartbeatSeconds?: number;
}

/** One controller replica process (its id, its port across restarts, what it printed). */
export class Replica {
  endpoint = "";
  private daemon?: Daemon;
  /** Everything printed by its earlier runs (a restart starts a new process). */
  private earlier = "";

  constructor(
    readonly id: string,
    private readonly args: string[],
    private readonly env: Record<string, string>,
  ) {}

  /** Starts it (on its previous port when restarted) with extra environment (e.g. AGGREGATES_TEST_CRASH), once it serves. */
  async start(extraEnv: Record<string, string> = {}): Promise<void> {
    if (this.running) throw new Error(`replica ${this.id} already runs`);
    this.earlier += this.daemon?.output() ?? "";
    const { daemon, match } = await Daemon.start(join(root, "bin/aggregates-controller"), ["--listen", this.endpoint || "127.0.0.1:0", "--replica-id", this.id, ...this.args], {
      ready: /serving gRPC on (\S+)/,
      env: { ...this.env, ...extraEnv },
    });
    this.daemon = daemon;
    this.endpoint = match[1]!;
  }

  /** Whether its process runs (a stopped one, SIGSTOP, counts as running). */
  get running(): boolean {
    const child = this.daemon?.child;
    return !!child && child.exitCode === null && child.signalCode === null;
  }

  /** The signal that ended its last run, if one did. */
  get killedBy(): NodeJS.Signals | null {
    return this.daemon?.child.signalCode ?? null;
  }

  /** Resolves when its current process has exited (e.g. the crash hook killed it). */
  async exited(): Promise<void> {
    await this.daemon?.exited;
  }

  /** Sends a signal and waits for the exit. */
  async kill(signal: "SIGKILL" | "SIGTERM"): Promise<void> {
    await this.daemon?.stop(signal);
  }

  /** SIGSTOP (it freezes, its sockets stay open) or SIGCONT. */
  pause(paused: boolean): void {
    this.daemon?.child.kill(paused ? "SIGSTOP" : "SIGCONT");
  }

  /** What this replica printed, over all its runs. */
  output(): string {
    return this.earlier + (this.daemon?.output() ?? "");
  }
}

/** The running product. */
export class ReplicaCluster {
  private constructor(
    private readonly dir: string,
    readonly postgres: PostgresCluster,
    /** The replicas' database. */
    readonly dbUrl: string,
    private readonly adminToken: string,
    /** The XAPI password of every simulated host (to read the real pools). */
    readonly xapiPassword: string,
    readonly sim: SimulatorProcess,
    readonly replicas: Replica[],
    readonly agents: Record<string, Daemon>,
  ) {}

  /**
   * Starts PostgreSQL, the simulator, the replicas (all, or only those named in `startOnly`; start
   * the others later with replica(id).start()) and the agents, and waits until every host registered.
   */
  static async start(options: ReplicaClusterOptions & { startOnly?: string[] }): Promise<ReplicaCluster> {
    const dir = mkdtempSync(join(tmpdir(), "aggregates-replicas-"));
    // The cluster's server runs as the postgres user under root: it must pass through this directory.
    chmodSync(dir, 0o711);
    const adminToken = randomBytes(12).toString("hex");
    const agentToken = randomBytes(12).toString("hex");
    const password = randomBytes(9).toString("hex");
    writeFileSync(join(dir, "agent-token"), agentToken, { mode: 0o600 });
    writeFileSync(join(dir, "xapi-password"), password, { mode: 0o600 });
    const postgres = await startPostgresCluster({ dir: join(dir, "postgres"), removeOnStop: true, noFsync: true });
    const hb = String(options.heartbeatSeconds ?? 0.2);
    const started: { sim?: SimulatorProcess; replicas: Replica[]; agents: Record<string, Daemon> } = { replicas: [], agents: {} };
    try {
      const dbUrl = await postgres.ensureDatabase("aggregates");
      const args = [
        ...["--http-listen", "off", "--console-dir", "off", "--db", dbUrl, "--lease-ttl", String(options.leaseTtlSeconds)],
        ...["--heartbeat-interval", hb, "--reconcile-interval", "0", "--step-timeout", "30"],
      ];
      const env = { AGGREGATES_ADMIN_TOKEN: adminToken, AGGREGATES_AGENT_TOKEN: agentToken, AGGREGATES_LOG_LEVEL: "info" };
      for (let i = 1; i <= (options.replicas ?? 3); i++) started.replicas.push(new Replica(`r${i}`, args, env));
      const first = started.replicas.filter((r) => !options.startOnly || options.startOnly.includes(r.id));
      [started.sim] = await Promise.all([
        SimulatorProcess.start({ hosts: options.hosts, baseAddress: options.baseAddress, timeScale: options.timeScale, password }),
        ...first.map((r) => r.start()),
      ]);
      // Agents get every replica's endpoint; those not started yet have none, so they are started first.
      const endpoints = started.replicas.map((r) => r.endpoint).filter(Boolean).join(",");
      await Promise.all(
        started.sim.hosts.map(async (host) => {
          const { daemon } = await Daemon.start(
            join(root, "bin/aggregates-agent"),
            [
              ...["--listen", "127.0.0.1:0", "--host-name", host.name, "--xapi-url", host.url, "--xapi-username", "root", "--xapi-password-file", join(dir, "xapi-password")],
              ...["--controller", endpoints, "--token-file", join(dir, "agent-token")],
              ...["--heartbeat-interval", hb, "--poll-interval", "0.02", "--call-timeout", "5"],
            ],
            { ready: /serving PoolAgentService on (\S+)/, env: { AGGREGATES_LOG_LEVEL: "info" } },
          );
          started.agents[host.name] = daemon;
        }),
      );
      const cluster = new ReplicaCluster(dir, postgres, dbUrl, adminToken, password, started.sim, started.replicas, started.agents);
      await cluster.waitRegistered(30_000);
      return cluster;
    } catch (err) {
      await Promise.allSettled([...Object.values(started.agents).map((a) => a.stop("SIGKILL")), ...started.replicas.map((r) => r.kill("SIGKILL")), started.sim?.close()]);
      await postgres.stop();
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** A replica by id ("r1"…). */
  replica(id: string): Replica {
    const replica = this.replicas.find((r) => r.id === id);
    if (!replica) throw new Error(`no replica ${id}`);
    return replica;
  }

  /** Admin clients over these replicas' endpoints (default: every replica that runs), as aggctl with a list uses them. */
  api(replicas: Replica[] = this.replicas.filter((r) => r.running)): ApiClients {
    return connect({ endpoint: replicas.map((r) => r.endpoint).join(","), token: this.adminToken });
  }

  /**
   * Makes the first replica the one that runs an operation and dies at `crashSpec`
   * (AGGREGATES_TEST_CRASH): restarts it armed, freezes the others (SIGSTOP) so that only it can take
   * the aggregate's lease once its holder's expires, submits through it, and thaws the others once it
   * holds the lease (or already died). Resolves with the operation's id, the armed replica and the others.
   */
  async submitToArmedReplica(crashSpec: string, aggregateId: bigint, submit: (api: ApiClients) => Promise<string>): Promise<{ id: string; armed: Replica; others: Replica[] }> {
    const [armed, ...others] = this.replicas as [Replica, ...Replica[]];
    if (armed.running) await armed.kill("SIGTERM");
    await armed.start({ AGGREGATES_TEST_CRASH: crashSpec });
    for (const r of others) r.pause(true);
    try {
      const id = await submit(this.api([armed]));
      const deadline = Date.now() + 15_000;
      while ((await this.leaseHolder(aggregateId)) !== armed.id && armed.killedBy === null) {
        if (Date.now() > deadline) throw new Error(`${armed.id} did not take the lease of aggregate ${aggregateId} within 15 s`);
        await new Promise((r) => setTimeout(r, 20)); // poll interval
      }
      return { id, armed, others };
    } finally {
      for (const r of others) r.pause(false);
    }
  }

  /** Runs one query on the replicas' database (what the journal and the leases say, for checks). */
  async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    const client = new pg.Client({ connectionString: this.dbUrl });
    await client.connect();
    try {
      return (await client.query<R>(sql, params)).rows;
    } finally {
      await client.end();
    }
  }

  /** The replica holding the aggregate's lease now (unexpired on the database's clock), if any. */
  async leaseHolder(aggregateId: bigint): Promise<string | undefined> {
    const rows = await this.query<{ holder: string }>(
      "SELECT holder FROM aggregate_leases WHERE aggregate_id = $1 AND expires_at_ms > EXTRACT(EPOCH FROM clock_timestamp()) * 1000",
      [Number(aggregateId)],
    );
    return rows[0]?.holder;
  }

  /** An operation's journal row as stored (state, steps JSON, last update). */
  async journal(operationId: string): Promise<{ state: string; steps: string; updated_at: string } | undefined> {
    return (await this.query<{ state: string; steps: string; updated_at: string }>("SELECT state, steps, updated_at FROM operations WHERE id = $1", [operationId]))[0];
  }

  /** Host names, in order. */
  get hostNames(): string[] {
    return this.sim.hosts.map((h) => h.name);
  }

  /** Waits until the database knows every host. */
  async waitRegistered(timeoutMs: number): Promise<void> {
    const list = async () => (await this.api().hosts.listHosts({ pageSize: 1000 })).hosts;
    await waitRegistered(list, (hosts) => this.hostNames.filter((n) => !hosts.some((h) => h.name === n)), timeoutMs);
  }

  /** Stops everything (SIGCONT first: a stopped process cannot die) and removes the directory. */
  async close(): Promise<void> {
    for (const r of this.replicas) if (r.running) r.pause(false);
    await Promise.allSettled([...Object.values(this.agents).map((a) => a.stop("SIGKILL")), ...this.replicas.map((r) => r.kill("SIGKILL")), this.sim.close()]);
    await this.postgres.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
