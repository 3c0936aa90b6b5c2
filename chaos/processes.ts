/** The simulator and the agents as processes (bin/fake-xapi, bin/aggregates-agent), and the simulator's control API over HTTP. */
import { join } from "node:path";
import type { FaultSpec, HostState, SimulatorState, VmState } from "../simulator/index.js";
import { Daemon, type ExitStatus } from "./daemon.js";

const root = new URL("..", import.meta.url).pathname;

/** The simulator's control API (docs/simulator.md), over HTTP. */
export interface SimulatorControlApi {
  url: string;
  state(): Promise<SimulatorState>;
  host(name: string): Promise<HostState>;
  /** Adds VMs to a host (running unless said otherwise). */
  addVms(host: string, spec: { count: number; memoryMiB: number; namePrefix?: string }): Promise<VmState[]>;
  /** Scripts a fault on a host's next calls of a method. */
  setFault(host: string, fault: FaultSpec): Promise<HostState>;
  /** Clears a host's scripted faults. */
  clearFaults(host: string): Promise<HostState>;
  /** Powers a host off (a crash) or on (a boot). */
  power(host: string, on: boolean): Promise<HostState>;
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
    clearFaults: (host) => call<HostState>("DELETE", `/hosts/${host}/faults`),
    power: (host, on) => call<HostState>("POST", `/hosts/${host}/power`, { on }),
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

  /** The running process (undefined before the first start). */
  get process(): Daemon | undefined {
    return this.daemon;
  }

  /** Stops it (SIGTERM: a graceful stop that ends its calls in flight) and waits for the exit. */
  stop(signal: NodeJS.Signals = "SIGTERM"): Promise<ExitStatus> {
    return this.daemon?.stop(signal) ?? Promise.resolve({ code: null, signal: null });
  }
}
