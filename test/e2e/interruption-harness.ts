/**
 * The product as separate OS processes, for interruption tests: bin/fake-xapi, one bin/aggregates-agent
 * per simulated host and bin/aggregates-controller (the ControllerProcess of product-harness, restarted
 * on the same port), or the whole sandbox (`npm start`). The simulator is driven and read through its
 * control HTTP API only. Every wait is on a printed line or a condition, never a fixed sleep.
 *
 * An {@link Interruption} is one way of stopping the product gracefully (a signal to the controller
 * process, Ctrl-C of `npm start`); it starts an {@link InterruptibleProduct} that a scenario drives the
 * same way whichever it is, and whose interrupt() stops it that way and starts it again.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type ApiClients } from "../../cli/api-clients.js";
import { OperationState, type Operation } from "../../gen/hostaggregates/v1/operation_pb.js";
import type { SandboxInfo } from "../../sandbox/sandbox.js";
import type { FaultSpec, HostState, SimulatorState, VmState } from "../../simulator/index.js";
import type { ExitStatus } from "../support/controller-process.js";
import { eventually } from "../support/eventually.js";
import { ControllerProcess, waitForOperation } from "./product-harness.js";

const root = new URL("../..", import.meta.url).pathname;

/** A child process of the harness, with everything it printed. */
class Daemon {
  private text = "";
  readonly exited: Promise<ExitStatus>;

  private constructor(
    readonly child: ChildProcess,
    private readonly group: boolean,
  ) {
    child.stdout!.on("data", (d: Buffer) => (this.text += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (this.text += d.toString()));
    this.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  }

  /** Starts a command and resolves once its output matches `ready` (with the match). */
  static start(
    command: string,
    args: string[],
    options: { ready: RegExp; env?: Record<string, string>; group?: boolean; timeoutMs?: number },
  ): Promise<{ daemon: Daemon; match: RegExpExecArray }> {
    const child = spawn(command, args, { cwd: root, env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"], detached: options.group ?? false });
    const daemon = new Daemon(child, options.group ?? false);
    const timeoutMs = options.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (why: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        void daemon.stop("SIGKILL");
        reject(new Error(`${command} ${why}:\n${daemon.output()}`));
      };
      const timer = setTimeout(() => fail(`printed nothing matching ${options.ready} within ${timeoutMs} ms`), timeoutMs);
      const check = () => {
        const match = options.ready.exec(daemon.text);
        if (!match || settled) return;
        settled = true;
        clearTimeout(timer);
        child.stdout!.off("data", check);
        resolve({ daemon, match });
      };
      child.stdout!.on("data", check);
      child.once("error", (err) => fail(`could not start: ${err.message}`));
      void daemon.exited.then((s) => fail(`exited (code ${s.code}, signal ${s.signal}) before it was ready`));
    });
  }

  /** Everything it printed so far. */
  output(): string {
    return this.text;
  }

  /** Sends a signal (to its whole process group when started as one, as a terminal's Ctrl-C does) and waits for the exit. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<ExitStatus> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      try {
        if (this.group) process.kill(-this.child.pid!, signal);
        else this.child.kill(signal);
      } catch {
        // already gone
      }
    }
    return this.exited;
  }
}

/** The simulator's control API (docs/simulator.md), over HTTP. */
export interface SimulatorControlApi {
  url: string;
  state(): Promise<SimulatorState>;
  host(name: string): Promise<HostState>;
  /** Adds VMs to a host (running unless said otherwise). */
  addVms(host: string, spec: { count: number; memoryMiB: number; namePrefix?: string }): Promise<VmState[]>;
  /** Scripts a fault on a host's next calls of a method. */
  setFault(host: string, fault: FaultSpec): Promise<HostState>;
}

/** A client of the control API at `url`. */
export function simulatorControl(url: string): SimulatorControlApi {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${url}${path}`, { method, headers: { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
    return JSON.parse(text) as T;
  };
  return {
    url,
    state: () => call<SimulatorState>("GET", "/state"),
    host: (name) => call<HostState>("GET", `/hosts/${name}`),
    addVms: async (host, spec) => (await call<{ vms: VmState[] }>("POST", `/hosts/${host}/vms`, spec)).vms,
    setFault: (host, fault) => call<HostState>("POST", `/hosts/${host}/faults`, fault),
  };
}

/** bin/fake-xapi as a process. */
export class SimulatorProcess {
  private constructor(
    private readonly daemon: Daemon,
    readonly hosts: { name: string; url: string }[],
    readonly control: SimulatorControlApi,
  ) {}

  /** Starts it with free ports and waits for its host and control URLs. */
  static async start(options: { hosts: number; baseAddress: string; timeScale: number; password: string }): Promise<SimulatorProcess> {
    const { daemon, match } = await Daemon.start(
      join(root, "bin/fake-xapi"),
      ["--hosts", String(options.hosts), "--base-address", options.baseAddress, "--time-scale", String(options.timeScale)],
      { ready: /^control: (\S+)$/m, env: { FAKE_XAPI_PASSWORD: options.password } },
    );
    const hosts = [...daemon.output().matchAll(/^\s+(\S+) (http:\/\/\S+) \(uuid/gm)].map((m) => ({ name: m[1]!, url: m[2]! }));
    return new SimulatorProcess(daemon, hosts, simulatorControl(match[1]!));
  }

  /** Kills it. */
  close(): Promise<ExitStatus> {
    return this.daemon.stop("SIGKILL");
  }
}

/** bin/aggregates-agent as a process; a restart listens on the port of the first start, so the registered endpoint stays valid. */
export class AgentProcess {
  endpoint = "";
  private daemon?: Daemon;

  constructor(private readonly args: string[]) {}

  /** Starts (or restarts) it and resolves once it serves. */
  async start(): Promise<void> {
    const { daemon, match } = await Daemon.start(join(root, "bin/aggregates-agent"), ["--listen", this.endpoint || "127.0.0.1:0", ...this.args], {
      ready: /serving PoolAgentService on (\S+)/,
      env: { AGGREGATES_LOG_LEVEL: "warn" },
    });
    this.daemon = daemon;
    this.endpoint = match[1]!;
  }

  /** Stops it (SIGTERM: a graceful stop that ends its calls in flight) and waits for the exit. */
  stop(signal: NodeJS.Signals = "SIGTERM"): Promise<ExitStatus> {
    return this.daemon?.stop(signal) ?? Promise.resolve({ code: null, signal: null });
  }
}

/** Creates an aggregate and adds these hosts one by one (the first founds the pool); returns its id. */
export async function createPool(api: ApiClients, name: string, hosts: string[]): Promise<bigint> {
  const { id } = await api.aggregates.createAggregate({ name });
  for (const host of hosts) {
    const done = await waitForOperation(api, (await api.aggregates.addHost({ aggregateId: id, host })).id);
    if (done.state !== OperationState.SUCCEEDED) throw new Error(`AddHost ${host} ended ${OperationState[done.state]}: ${done.error?.message}`);
  }
  return id;
}

/** The product as processes. */
export interface ProcessProduct {
  sim: SimulatorProcess;
  agents: Record<string, AgentProcess>;
  /** The controller process (kill(signal), start() on the same port). */
  controller: ControllerProcess;
  api: ApiClients;
  waitOperation(id: string, timeoutMs?: number): Promise<Operation>;
  /** Creates an aggregate and adds these hosts one by one (the first founds the pool); returns its id. */
  createPool(name: string, hosts: string[]): Promise<bigint>;
  close(): Promise<void>;
}

/** Starts the simulator, the controller and one agent per host, each a process, and waits until every host registered. */
export async function startProcessProduct(options: { hosts: number; baseAddress: string; timeScale: number }): Promise<ProcessProduct> {
  const dir = mkdtempSync(join(tmpdir(), "aggregates-interrupt-"));
  const adminToken = randomBytes(12).toString("hex");
  const agentToken = randomBytes(12).toString("hex");
  const password = randomBytes(9).toString("hex");
  writeFileSync(join(dir, "agent-token"), agentToken, { mode: 0o600 });
  writeFileSync(join(dir, "xapi-password"), password, { mode: 0o600 });
  const controller = new ControllerProcess(join(dir, "controller.db"), { AGGREGATES_ADMIN_TOKEN: adminToken, AGGREGATES_AGENT_TOKEN: agentToken, AGGREGATES_LOG_LEVEL: "warn" });
  const [sim] = await Promise.all([SimulatorProcess.start({ ...options, password }), controller.start()]);
  const agents: Record<string, AgentProcess> = {};
  for (const host of sim.hosts) {
    agents[host.name] = new AgentProcess([
      ...["--host-name", host.name, "--xapi-url", host.url, "--xapi-username", "root", "--xapi-password-file", join(dir, "xapi-password")],
      ...["--controller", controller.endpoint, "--token-file", join(dir, "agent-token")],
      ...["--heartbeat-interval", "0.2", "--poll-interval", "0.02", "--call-timeout", "5"],
    ]);
  }
  const api = connect({ endpoint: controller.endpoint, token: adminToken });
  const product: ProcessProduct = {
    sim,
    agents,
    controller,
    api,
    waitOperation: (id, timeoutMs) => waitForOperation(api, id, timeoutMs),
    createPool: (name, hosts) => createPool(api, name, hosts),
    async close() {
      await Promise.allSettled([...Object.values(agents).map((a) => a.stop("SIGKILL")), controller.kill("SIGKILL"), sim.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all(Object.values(agents).map((a) => a.start()));
    const names = sim.hosts.map((h) => h.name);
    await eventually(`registration of ${names.join(", ")}`, async () => {
      const { hosts } = await api.hosts.listHosts({ pageSize: 1000 });
      return names.every((n) => hosts.some((h) => h.name === n));
    }, 20_000);
  } catch (err) {
    await product.close();
    throw err;
  }
  return product;
}

/** `npm start` (the sandbox) as a process group, as a user runs it in a terminal. */
export class SandboxProcess {
  private constructor(
    private readonly daemon: Daemon,
    readonly info: SandboxInfo,
    readonly api: ApiClients,
    readonly control: SimulatorControlApi,
  ) {}

  /** Runs `npm start -- --state-dir DIR --port 0 …args` and resolves once it printed "sandbox ready". */
  static async start(stateDir: string, args: string[]): Promise<SandboxProcess> {
    const { daemon } = await Daemon.start("npm", ["start", "--", "--state-dir", stateDir, "--port", "0", ...args], {
      ready: /sandbox ready/,
      env: { AGGREGATES_LOG_LEVEL: "error" },
      group: true,
      timeoutMs: 60_000,
    });
    const info = JSON.parse(readFileSync(join(stateDir, "sandbox.json"), "utf8")) as SandboxInfo;
    return new SandboxProcess(daemon, info, connect({ endpoint: info.controller, token: info.adminToken }), simulatorControl(info.simulatorControl));
  }

  /**
   * Ctrl-C: SIGINT to the whole process group. Resolves with how npm ended and the simulated pool as
   * last read before the simulator (which the sandbox stops last) went down with it.
   */
  async interrupt(): Promise<{ status: ExitStatus; lastState?: SimulatorState }> {
    let lastState: SimulatorState | undefined;
    let exited = false;
    const watching = (async () => {
      for (;;) {
        try {
          lastState = await this.control.state();
        } catch {
          if (exited) return;
        }
        await new Promise((resolve) => setTimeout(resolve, 10)); // poll interval
      }
    })();
    const status = await this.daemon.stop("SIGINT");
    exited = true;
    await watching;
    return { status, lastState };
  }

  output(): string {
    return this.daemon.output();
  }
}

/** How an interruption ended: the exit, and the simulated pool at that moment. */
export interface Interrupted {
  /** When the interrupted process had exited (ms since the epoch). */
  at: number;
  /**
   * The simulated pool once it had exited: read right after the exit when the simulator lives on (the
   * controller alone was stopped), else the last state read before the simulator went down with it.
   */
  state: SimulatorState;
  status: ExitStatus;
  /** Whether `status` is that of a graceful stop (the process ended by itself, not killed). */
  graceful: boolean;
  /** The tail of what the interrupted process printed. */
  output: string;
}

/** What runs between the exit and the restart, and once the product serves again. */
export interface RestartHooks {
  whileDown?: () => Promise<void>;
  afterRestart?: () => Promise<void>;
}

/** The product as an interruption test drives it, whichever way it is interrupted. */
export interface InterruptibleProduct {
  /** Admin clients of the controller serving now (a restarted sandbox serves on new ports). */
  readonly api: ApiClients;
  /** The simulator's control API now. */
  readonly control: SimulatorControlApi;
  /**
   * The agents as processes of their own, when the interruption spares them (only the controller is
   * stopped); undefined when they go down with the controller (the sandbox closes them first).
   */
  readonly agents?: Record<string, AgentProcess>;
  /** Creates an aggregate and adds these hosts one by one (the first founds the pool); returns its id. */
  createPool(name: string, hosts: string[]): Promise<bigint>;
  /** Waits until the operation ends, across restarts. */
  waitOperation(id: string): Promise<Operation>;
  /** Interrupts it (gracefully, the interruption's way), runs `whileDown`, starts it again and runs `afterRestart`. */
  interrupt(hooks?: RestartHooks): Promise<Interrupted>;
  close(): Promise<void>;
}

/** One way of interrupting the product, and how to start a product to interrupt so. */
export interface Interruption {
  /** E.g. "SIGTERM of the controller". */
  name: string;
  /** A test's time budget, including the resumed operation. */
  testTimeoutMs: number;
  start(): Promise<InterruptibleProduct>;
}

/**
 * The controller process stopped with `signal` (a graceful stop: it must exit 0 by itself) while the
 * simulator and the agents, each a process of its own, go on; then started again on the same port.
 * Every product started gets its own simulator addresses: `baseAddress(i)` for the i-th.
 */
export function controllerSignal(signal: "SIGTERM" | "SIGINT", options: { hosts: number; timeScale: number; baseAddress: (i: number) => string }): Interruption {
  let started = 0;
  return {
    name: `${signal} of the controller`,
    testTimeoutMs: 45_000,
    async start() {
      const p = await startProcessProduct({ hosts: options.hosts, timeScale: options.timeScale, baseAddress: options.baseAddress(started++) });
      const cp = p.controller;
      return {
        api: p.api,
        control: p.sim.control,
        agents: p.agents,
        createPool: p.createPool,
        waitOperation: (id) => p.waitOperation(id, 40_000),
        async interrupt(hooks = {}) {
          await cp.kill(signal);
          const at = Date.now();
          const state = await p.sim.control.state();
          const status = { code: cp.child!.exitCode, signal: cp.child!.signalCode };
          const output = cp.output.slice(-3000);
          await hooks.whileDown?.();
          await cp.start();
          await hooks.afterRestart?.();
          return { at, state, status, graceful: status.code === 0 && status.signal === null, output };
        },
        close: () => p.close(),
      };
    },
  };
}

/**
 * Ctrl-C of `npm start` (SIGINT to its process group, as a terminal sends it), then `npm start` again
 * on the same --state-dir. The sandbox closes its agents first, then the controller, then the simulator
 * (which saves its state file and reloads it on the next start). Every product started gets a fresh
 * state directory.
 */
export function sandboxCtrlC(options: { hosts: number; timeScale: number }): Interruption {
  const args = ["--hosts", String(options.hosts), "--vms-per-host", "0", "--time-scale", String(options.timeScale)];
  return {
    name: "Ctrl-C of npm start",
    testTimeoutMs: 90_000,
    async start() {
      const stateDir = mkdtempSync(join(tmpdir(), "aggregates-sandbox-interrupt-"));
      let sandbox: SandboxProcess | undefined;
      try {
        sandbox = await SandboxProcess.start(stateDir, args);
      } catch (err) {
        rmSync(stateDir, { recursive: true, force: true });
        throw err;
      }
      let current: SandboxProcess = sandbox;
      let running = true;
      return {
        get api() {
          return current.api;
        },
        get control() {
          return current.control;
        },
        createPool: (name, hosts) => createPool(current.api, name, hosts),
        // WaitOperation on the clients of the sandbox serving now (they change with a restart).
        waitOperation: (id) => waitForOperation(current.api, id, 60_000),
        async interrupt(hooks = {}) {
          running = false;
          const { status, lastState } = await current.interrupt();
          const at = Date.now();
          const output = current.output().slice(-3000);
          if (!lastState) throw new Error(`the simulator never answered while the sandbox went down:\n${output}`);
          await hooks.whileDown?.();
          current = await SandboxProcess.start(stateDir, args);
          running = true;
          await hooks.afterRestart?.();
          return { at, state: lastState, status, graceful: (status.code === 0 || status.signal === "SIGINT") && output.includes("stopping…"), output };
        },
        async close() {
          if (running) await current.interrupt();
          rmSync(stateDir, { recursive: true, force: true });
        },
      };
    },
  };
}
