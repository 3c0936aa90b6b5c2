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
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type ApiClients } from "../../cli/api-clients.js";
import { OperationState, type Operation } from "../../gen/hostaggregates/v1/operation_pb.js";
import type { SandboxInfo } from "../../sandbox/sandbox.js";
import type { SimulatorState } from "../../simulator/index.js";
import { Daemon, type ExitStatus } from "../../chaos/daemon.js";
import { AgentProcess, SimulatorProcess, simulatorControl, type SimulatorControlApi } from "../../chaos/processes.js";
import { eventually } from "../support/eventually.js";
import { ControllerProcess, waitForOperation } from "./product-harness.js";

const root = new URL("../..", import.meta.url).pathname;

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
