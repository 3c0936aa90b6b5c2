/**
 * Runs the whole product on loopback for end-to-end tests: the simulator (the only stand-in,
 * for XenServer) with a fast clock, one real agent per simulated host, and the real controller
 * (in-process, or as a separate process that tests can SIGKILL and restart on the same port).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgent, type Agent, type AgentOptions } from "../../agent/index.js";
import { TokenRegistry } from "../../shared/auth.js";
import { formatHostPort } from "../../shared/address.js";
import { silentLogger } from "../../shared/logging.js";
import { connect, type ApiClients } from "../../cli/api-clients.js";
import { eventually } from "../support/eventually.js";
import { testDatabaseFromEnv } from "../support/postgres.js";
import { startController, type Controller } from "../../controller/server.js";
import { startSimulator, type Simulator, type SimulatorOptions } from "../../simulator/index.js";
import { OperationState, StepState, type Operation } from "../../gen/hostaggregates/v1/operation_pb.js";

const root = new URL("../..", import.meta.url).pathname;

/** Options of the product harness. */
export interface ProductOptions {
  hosts: number;
  /** Simulator base address; give every test file its own range. */
  baseAddress: string;
  /** Simulator clock (default 0.005: a join takes ~150 ms). */
  timeScale?: number;
  /** Any other simulator option (durations, memory). */
  simulator?: Partial<SimulatorOptions>;
  /** Run the controller as a child process (for crash tests). */
  controllerProcess?: boolean;
  /** Environment for the controller process (e.g. AGGREGATES_TEST_CRASH). */
  controllerEnv?: Record<string, string>;
  /** More flags of the controller process (e.g. --lease-ttl). */
  controllerArgs?: string[];
  /** Serve /metrics: the in-process controller on an HTTP port, every agent on a metrics listener. */
  metrics?: boolean;
  /** Heartbeat interval of the in-process controller and the agents (default 200 ms). */
  heartbeatIntervalMs?: number;
  /** Poll interval of the agents' waits (default 20 ms). */
  pollIntervalMs?: number;
  /** Master-failure detector timer of the in-process controller (default: the heartbeat interval; 0: off). */
  masterCheckIntervalMs?: number;
  /** Extra options of every agent (e.g. hooks), by host name. */
  agentOptions?: (host: string) => Partial<AgentOptions>;
  /**
   * The controller's database: a postgres:// URL (test/support/postgres.ts); by default a SQLite file
   * in a temp dir, or a PostgreSQL database with AGGREGATES_TEST_DB=postgres.
   */
  db?: string;
  /** Replica id of the in-process controller (default HOSTNAME:PORT). */
  replicaId?: string;
  /** Lease TTL of the in-process controllers (default 10 s). */
  leaseTtlMs?: number;
}

/** Admin clients of the controller (the same bundle aggctl uses). */
export type AdminClients = ApiClients;

/** A controller running as a child process. */
export class ControllerProcess {
  child?: ChildProcess;
  output = "";
  endpoint = "";

  constructor(
    /** A SQLite path or a postgres:// URL (--db). */
    private readonly dbPath: string,
    private readonly env: Record<string, string>,
    /** More flags (e.g. --replica-id). */
    private readonly args: string[] = [],
  ) {}

  /** Starts it (on the previous port when restarted) and resolves once it serves. */
  async start(extraEnv: Record<string, string> = {}, extraArgs: string[] = []): Promise<void> {
    const listen = this.endpoint || "127.0.0.1:0";
    const child = spawn(
      join(root, "bin/aggregates-controller"),
      ["--listen", listen, "--http-listen", "off", "--db", this.dbPath, "--reconcile-interval", "0", "--step-timeout", "30", "--heartbeat-interval", "0.2", ...this.args, ...extraArgs],
      { env: { ...process.env, ...this.env, ...extraEnv }, stdio: ["ignore", "pipe", "pipe"] },
    );
    this.child = child;
    child.stdout!.on("data", (d: Buffer) => (this.output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (this.output += d.toString()));
    const endpoint = await new Promise<string>((resolve, reject) => {
      const check = () => {
        const m = /serving gRPC on (\S+)/.exec(this.output);
        if (m) resolve(m[1]!);
      };
      child.stdout!.on("data", check);
      child.once("exit", (code) => reject(new Error(`controller exited (${code}) before serving:\n${this.output}`)));
    });
    this.endpoint = endpoint;
  }

  /** Resolves when the process has exited (e.g. after the crash hook killed it). */
  exited(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => child.once("exit", () => resolve()));
  }

  /** Kills it with a signal and waits for the exit. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    this.child?.kill(signal);
    await this.exited();
  }
}

/** The running product. */
export interface Product {
  sim: Simulator;
  agents: Agent[];
  api: AdminClients;
  /** In-process controller (undefined with controllerProcess). */
  controller?: Controller;
  /** Controller child process (with controllerProcess). */
  controllerProcess?: ControllerProcess;
  controllerEndpoint: string;
  adminToken: string;
  agentToken: string;
  /** A token of role "metrics" (accepted by the in-process controller). */
  metricsToken: string;
  /** The in-process controller's /metrics URL (with the metrics option). */
  controllerMetricsUrl?: string;
  /** An agent's /metrics URL by host name (with the metrics option). */
  agentMetricsUrl(host: string): string;
  /** Waits until the operation ends (WaitOperation in a loop). */
  waitOperation(id: string, timeoutMs?: number): Promise<Operation>;
  /** Waits until the controller knows these hosts. */
  waitRegistered(names: string[], timeoutMs?: number): Promise<void>;
  /** Adds a host and waits; throws unless it succeeded. */
  addHost(aggregateId: bigint, host: string): Promise<Operation>;
  /** Stops a host's agent and starts a fresh one (new port, nothing remembered), as a restart of its process does. */
  restartAgent(host: string): Promise<void>;
  /** Waits for a condition on the controller, polling. */
  waitFor<T>(probe: () => Promise<T | undefined | false>, timeoutMs?: number, what?: string): Promise<T>;
  /**
   * Waits until the controller process exits, killed by its crash hook (AGGREGATES_TEST_CRASH) at `point`
   * of operation `id`. The hook fires only when the step at its point ends well: if the operation ends
   * first, or nothing happens for timeoutMs, this fails at once with the journal and the controller's output.
   */
  killedByHook(id: string, point: string, timeoutMs?: number): Promise<void>;
  /** Starts another in-process controller on the same database (a replica; the agents report to the first), closed with the product. */
  startReplica(replicaId: string): Promise<Controller>;
  close(): Promise<void>;
}

const terminal = new Set([OperationState.SUCCEEDED, OperationState.FAILED, OperationState.CANCELLED]);

/** Waits until an operation ends (WaitOperation in a loop; errors, e.g. while the controller restarts, are retried). */
export function waitForOperation(api: AdminClients, id: string, timeoutMs = 30_000): Promise<Operation> {
  return eventually(`operation ${id}`, async () => {
    const op = await api.operations.waitOperation({ id, timeout: { seconds: 5n, nanos: 0 } });
    return terminal.has(op.state) ? op : undefined;
  }, timeoutMs);
}

/** Starts simulator, controller and agents. */
export async function startProduct(options: ProductOptions): Promise<Product> {
  const dir = mkdtempSync(join(tmpdir(), "aggregates-e2e-"));
  const adminToken = randomBytes(12).toString("hex");
  const agentToken = randomBytes(12).toString("hex");
  const metricsToken = randomBytes(12).toString("hex");
  const sim = await startSimulator({
    hosts: options.hosts,
    baseAddress: options.baseAddress,
    port: 0,
    password: "sim-secret",
    timeScale: options.timeScale ?? 0.005,
    ...options.simulator,
  });
  let controller: Controller | undefined;
  let controllerProcess: ControllerProcess | undefined;
  let endpoint = "";
  const db = options.db ?? (await testDatabaseFromEnv()) ?? join(dir, "controller.db");
  if (options.controllerProcess) {
    controllerProcess = new ControllerProcess(db, {
      AGGREGATES_ADMIN_TOKEN: adminToken,
      AGGREGATES_AGENT_TOKEN: agentToken,
      AGGREGATES_LOG_LEVEL: "warn",
      ...options.controllerEnv,
    }, options.controllerArgs);
    await controllerProcess.start();
    endpoint = controllerProcess.endpoint;
  }
  const inProcess = (replicaId: string | undefined, metrics: boolean) =>
    startController({
      grpcListen: "127.0.0.1:0",
      httpListen: metrics ? "127.0.0.1:0" : undefined,
      dbPath: db,
      tokens: new TokenRegistry().add(adminToken, "admin").add(agentToken, "agent").add(metricsToken, "metrics"),
      agentCredentials: { token: agentToken },
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 200,
      masterCheckIntervalMs: options.masterCheckIntervalMs,
      stepTimeoutMs: 30_000,
      retryDelayMs: 50,
      reconcileIntervalMs: 0,
      log: silentLogger,
      replicaId,
      leaseTtlMs: options.leaseTtlMs,
    });
  if (!controllerProcess) {
    controller = await inProcess(options.replicaId, options.metrics === true);
    endpoint = formatHostPort(controller.grpcAddress);
  }
  const replicas: Controller[] = [];
  const agentOptions = (host: (typeof sim.hosts)[number]): AgentOptions => ({
    listen: "127.0.0.1:0",
    hostName: host.name,
    xapiUrl: host.url,
    xapiUsername: "root",
    xapiPassword: "sim-secret",
    controller: endpoint,
    token: agentToken,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 200,
    pollIntervalMs: options.pollIntervalMs ?? 20,
    callTimeoutMs: 5000,
    controllerBackoff: { initialMs: 50, maxMs: 500 },
    log: silentLogger,
    metricsListen: options.metrics ? "127.0.0.1:0" : undefined,
    ...options.agentOptions?.(host.name),
  });
  const agents: Agent[] = [];
  for (const host of sim.hosts) agents.push(await startAgent(agentOptions(host)));
  const api: AdminClients = connect({ endpoint, token: adminToken });

  const waitFor = <T>(probe: () => Promise<T | undefined | false>, timeoutMs = 20_000, what = "condition"): Promise<T> =>
    eventually(what, probe, timeoutMs);
  const waitOperation = (id: string, timeoutMs = 30_000): Promise<Operation> => waitForOperation(api, id, timeoutMs);
  const product: Product = {
    sim,
    agents,
    api,
    controller,
    controllerProcess,
    controllerEndpoint: endpoint,
    adminToken,
    agentToken,
    metricsToken,
    controllerMetricsUrl: controller?.httpAddress ? `http://${formatHostPort(controller.httpAddress)}/metrics` : undefined,
    agentMetricsUrl(host) {
      const i = sim.hosts.findIndex((h) => h.name === host);
      const address = agents[i]?.metricsAddress;
      if (!address) throw new Error(`no metrics listener for ${host} (start the product with metrics: true)`);
      return `http://${formatHostPort(address)}/metrics`;
    },
    waitOperation,
    waitFor,
    async killedByHook(id, point, timeoutMs = 120_000) {
      const cp = controllerProcess!;
      let exited = false;
      void cp.exited().then(() => (exited = true));
      const current = () => api.operations.getOperation({ id }).catch(() => undefined);
      const seen = await waitFor(
        async () => (exited ? ("exited" as const) : ((o) => (o && terminal.has(o.state) ? o : undefined))(await current())),
        timeoutMs,
        `the crash hook to kill the controller at ${point}`,
      ).catch(async (err: Error) => {
        const o = await current();
        throw new Error(`${err.message}; the journal: ${o?.steps.map((st) => `${st.name}=${StepState[st.state]}`).join(" ")}\n${cp.output.slice(-3000)}`);
      });
      if (seen !== "exited") throw new Error(`operation ${id} ended ${OperationState[seen.state]} (${seen.error?.message ?? "no error"}) before the crash hook's point ${point}:\n${cp.output.slice(-3000)}`);
      if (cp.child!.signalCode !== "SIGKILL") throw new Error(`the controller exited (${cp.child!.exitCode ?? cp.child!.signalCode}) but not by the crash hook at ${point}:\n${cp.output.slice(-3000)}`);
    },
    async startReplica(replicaId) {
      const replica = await inProcess(replicaId, false);
      replicas.push(replica);
      return replica;
    },
    async waitRegistered(names, timeoutMs = 20_000) {
      await waitFor(async () => {
        const { hosts } = await api.hosts.listHosts({ pageSize: 1000 });
        return names.every((n) => hosts.some((h) => h.name === n)) || undefined;
      }, timeoutMs, `registration of ${names.join(", ")}`);
    },
    async addHost(aggregateId, host) {
      const op = await api.aggregates.addHost({ aggregateId, host });
      const done = await waitOperation(op.id);
      if (done.state !== OperationState.SUCCEEDED) throw new Error(`AddHost ${host} ended ${OperationState[done.state]}: ${done.error?.message}`);
      return done;
    },
    async restartAgent(name) {
      const i = sim.hosts.findIndex((h) => h.name === name);
      if (i < 0) throw new Error(`no host ${name}`);
      await agents[i]!.close();
      agents[i] = await startAgent(agentOptions(sim.hosts[i]!));
    },
    async close() {
      await Promise.allSettled(agents.map((a) => a.close()));
      await Promise.allSettled(replicas.map((r) => r.close(1000)));
      await controller?.close(1000);
      await controllerProcess?.kill("SIGKILL");
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await product.waitRegistered(sim.hosts.map((h) => h.name));
  return product;
}
