/**
 * The product of one schedule as separate processes: bin/fake-xapi, bin/aggregates-controller and one
 * bin/aggregates-agent per simulated host, each stoppable by signal and restarted on the port it had
 * (so registered endpoints stay valid). A process that exits without being told to is recorded.
 */
import { randomBytes } from "node:crypto";
import { waitRegistered } from "./wait-registered.js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type ApiClients } from "../cli/api-clients.js";
import { Daemon, type ExitStatus } from "./daemon.js";
import { AgentProcess, SimulatorProcess } from "./processes.js";

const root = new URL("..", import.meta.url).pathname;

/** Settings of a cluster. */
export interface ClusterOptions {
  hosts: number;
  /** Address of the first simulated host (each schedule may reuse it). */
  baseAddress: string;
  /** Simulator clock: real duration = nominal × timeScale. */
  timeScale: number;
  /** Seconds between heartbeats (agents and controller). */
  heartbeatSeconds: number;
}

/** A daemon that died without being told to. */
export interface UnexpectedExit {
  daemon: string;
  status: ExitStatus;
  /** The end of what it printed. */
  tail: string;
}

/** The running product of one schedule. */
export class Cluster {
  /** Clusters started and not yet closed (closed on an interrupt of the campaign, so no daemon outlives it). */
  static readonly running = new Set<Cluster>();

  readonly deaths: UnexpectedExit[] = [];
  readonly api: ApiClients;
  private controller?: Daemon;
  private controllerEndpoint = "";
  private readonly told = new WeakSet<Daemon>();

  private constructor(
    readonly options: ClusterOptions,
    private readonly dir: string,
    private readonly adminToken: string,
    private readonly agentToken: string,
    /** The XAPI password of every simulated host (to read the real pools). */
    readonly xapiPassword: string,
    readonly sim: SimulatorProcess,
    readonly agents: Record<string, AgentProcess>,
    controller: Daemon,
    controllerEndpoint: string,
  ) {
    this.adopt("controller", controller);
    this.controller = controller;
    this.controllerEndpoint = controllerEndpoint;
    this.api = connect({ endpoint: controllerEndpoint, token: adminToken });
  }

  /** Starts the simulator, the controller and every agent, and waits until every host registered. */
  static async start(options: ClusterOptions): Promise<Cluster> {
    const dir = mkdtempSync(join(tmpdir(), "aggregates-chaos-"));
    const adminToken = randomBytes(12).toString("hex");
    const agentToken = randomBytes(12).toString("hex");
    const password = randomBytes(9).toString("hex");
    writeFileSync(join(dir, "agent-token"), agentToken, { mode: 0o600 });
    writeFileSync(join(dir, "xapi-password"), password, { mode: 0o600 });
    const [sim, started] = await Promise.all([
      SimulatorProcess.start({ hosts: options.hosts, baseAddress: options.baseAddress, timeScale: options.timeScale, password }),
      startController(dir, "127.0.0.1:0", options, adminToken, agentToken),
    ]);
    const agents: Record<string, AgentProcess> = {};
    for (const host of sim.hosts) {
      agents[host.name] = new AgentProcess([
        ...["--host-name", host.name, "--xapi-url", host.url, "--xapi-username", "root", "--xapi-password-file", join(dir, "xapi-password")],
        ...["--controller", started.endpoint, "--token-file", join(dir, "agent-token")],
        ...["--heartbeat-interval", String(options.heartbeatSeconds), "--poll-interval", "0.05", "--call-timeout", "5"],
      ]);
    }
    const cluster = new Cluster(options, dir, adminToken, agentToken, password, sim, agents, started.daemon, started.endpoint);
    Cluster.running.add(cluster);
    try {
      await Promise.all(Object.keys(agents).map((name) => cluster.startAgent(name)));
      await cluster.waitRegistered(30_000);
    } catch (err) {
      await cluster.close();
      throw err;
    }
    return cluster;
  }

  /** Host names, in order. */
  get hostNames(): string[] {
    return this.sim.hosts.map((h) => h.name);
  }

  /** Whether the controller process runs. */
  get controllerUp(): boolean {
    return this.controller !== undefined;
  }

  /** What the running controller printed (its log at warn level). */
  controllerOutput(): string {
    return this.controller?.output() ?? "";
  }

  /** Stops the controller with a signal and waits for its exit. */
  async stopController(signal: "SIGKILL" | "SIGTERM"): Promise<void> {
    const daemon = this.controller;
    if (!daemon) return;
    this.controller = undefined;
    this.told.add(daemon);
    await daemon.stop(signal);
  }

  /** Starts the controller again on its port (no-op while it runs). */
  async startController(): Promise<void> {
    if (this.controller) return;
    const started = await startController(this.dir, this.controllerEndpoint, this.options, this.adminToken, this.agentToken);
    this.adopt("controller", started.daemon);
    this.controller = started.daemon;
  }

  /** Whether a host's agent runs. */
  agentUp(host: string): boolean {
    const p = this.agents[host]?.process;
    return !!p && p.child.exitCode === null && p.child.signalCode === null && !this.told.has(p);
  }

  /** Stops an agent with a signal and waits for its exit. */
  async stopAgent(host: string, signal: "SIGKILL" | "SIGTERM"): Promise<void> {
    const agent = this.agents[host]!;
    const p = agent.process;
    if (!p || !this.agentUp(host)) return;
    this.told.add(p);
    await agent.stop(signal);
  }

  /** Starts an agent (again, on its port); no-op while it runs. */
  async startAgent(host: string): Promise<void> {
    if (this.agentUp(host)) return;
    const agent = this.agents[host]!;
    await agent.start();
    this.adopt(`agent ${host}`, agent.process!);
  }

  /** Waits until the controller knows every host with its agent's current endpoint. */
  async waitRegistered(timeoutMs: number): Promise<void> {
    const list = async () => (await this.api.hosts.listHosts({ pageSize: 1000 })).hosts;
    await waitRegistered(list, (hosts) => this.hostNames.filter((n) => hosts.find((h) => h.name === n)?.agentEndpoint !== this.agents[n]!.endpoint), timeoutMs);
  }

  /** Stops everything and removes the state directory. */
  async close(): Promise<void> {
    Cluster.running.delete(this);
    const all = [this.controller, ...Object.values(this.agents).map((a) => a.process)].filter((d): d is Daemon => !!d);
    for (const d of all) this.told.add(d);
    await Promise.allSettled([...all.map((d) => d.stop("SIGKILL")), this.sim.close()]);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Records the exit of a daemon nobody told to stop. */
  private adopt(name: string, daemon: Daemon): void {
    void daemon.exited.then((status) => {
      if (!this.told.has(daemon)) this.deaths.push({ daemon: name, status, tail: daemon.output().slice(-2000) });
    });
  }
}

async function startController(
  dir: string,
  listen: string,
  options: ClusterOptions,
  adminToken: string,
  agentToken: string,
): Promise<{ daemon: Daemon; endpoint: string }> {
  const hb = options.heartbeatSeconds;
  const { daemon, match } = await Daemon.start(
    join(root, "bin/aggregates-controller"),
    [
      ...["--listen", listen, "--http-listen", "off", "--console-dir", "off", "--db", join(dir, "controller.db")],
      ...["--heartbeat-interval", String(hb), "--reconcile-interval", "1", "--step-timeout", "20"],
      ...["--master-check-interval", String(hb), "--master-failure-threshold", String(hb * 6)],
    ],
    {
      ready: /serving gRPC on (\S+)/,
      env: { AGGREGATES_ADMIN_TOKEN: adminToken, AGGREGATES_AGENT_TOKEN: agentToken, AGGREGATES_LOG_LEVEL: "warn" },
    },
  );
  return { daemon, endpoint: match[1]! };
}
