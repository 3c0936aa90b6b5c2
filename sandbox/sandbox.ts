/**
 * The whole product on one machine: the fake XAPI simulator, one agent per simulated host,
 * and the controller (or several replicas of it on one PostgreSQL database), with their state kept
 * in one directory so a restart keeps everything.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startAgent, type Agent } from "../agent/index.js";
import { TokenRegistry } from "../shared/auth.js";
import { formatHostPort } from "../shared/address.js";
import { createLogger, type Logger } from "../shared/logging.js";
import { devToken } from "../controller/dev-tokens.js";
import { startController, type Controller } from "../controller/server.js";
import { startSimulator, type Simulator } from "../simulator/index.js";
import { acquirePidLock } from "../shared/pid-lock.js";
import { onSavedPort, simulatorControlPortFile } from "./saved-port.js";
import { sandboxDatabase, type SandboxDatabase } from "./sandbox-database.js";

/** Options of the sandbox. */
export interface SandboxOptions {
  /** Simulated hosts on first start (default 3). */
  hosts: number;
  /** Running VMs per host on first start (default 2). */
  vmsPerHost: number;
  /** Controller gRPC port (default 50051); Connect/JSON and REST listen on port + 1; replica i (from 0) on port + 2i and + 2i + 1. */
  port: number;
  /** Controller replicas on one PostgreSQL database (default 1). */
  replicas?: number;
  /** A postgres:// URL; without it the controller uses SQLite, and replicas a cluster of their own in the state directory. */
  db?: string;
  /** Where the database, the simulator state and the tokens live. */
  stateDir: string;
  /** Simulator clock: real duration = nominal × timeScale (default 0.1: a join takes ~3 s). */
  timeScale: number;
  /** How often agents poll XenServer while they wait (default 200 ms). */
  pollIntervalMs?: number;
  /** Address of the first simulated host (default 127.0.0.10). */
  baseAddress?: string;
  log?: Logger;
}

/** What sandbox.json tells clients. */
export interface SandboxInfo {
  /** The first controller's gRPC endpoint. */
  controller: string;
  /** Every controller replica's gRPC endpoint, the first one first. */
  controllers: string[];
  http: string;
  /** The web console (same origin as Connect/JSON). */
  console: string;
  adminToken: string;
  simulatorControl: string;
  hosts: { name: string; xapiUrl: string; agent: string }[];
  xapi: { username: string; password: string };
}

/** A running sandbox. */
export interface Sandbox {
  info: SandboxInfo;
  /** The first controller. */
  controller: Controller;
  /** Every controller replica. */
  controllers: Controller[];
  simulator: Simulator;
  agents: Agent[];
  close(): Promise<void>;
}

function secretFile(dir: string, name: string): string {
  const path = join(dir, name);
  if (existsSync(path)) return readFileSync(path, "utf8").trim();
  const secret = randomBytes(18).toString("base64url");
  writeFileSync(path, secret + "\n", { mode: 0o600 });
  return secret;
}

/** Starts the sandbox and resolves once every agent has registered. */
export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const log = options.log ?? createLogger("sandbox");
  mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
  // One sandbox per state directory: a second one would drive the same pools and database.
  const releaseStateDir = acquirePidLock(join(options.stateDir, "sandbox.lock"), `the sandbox state directory ${options.stateDir}`);
  const adminToken = devToken(options.stateDir, "admin-token").token;
  const agentToken = devToken(options.stateDir, "agent-token").token;
  // The controller calls agents with a token of its own, which no agent holds for its own use.
  const controllerToken = devToken(options.stateDir, "controller-token").token;
  const xapiPassword = secretFile(options.stateDir, "xapi-password");
  const username = "root";

  const stateFile = join(options.stateDir, "simulator.json");
  const firstStart = !existsSync(stateFile);
  // The control API keeps its port across restarts of this state directory (scripts and bookmarks keep working).
  const simulator = await onSavedPort(
    options.stateDir,
    simulatorControlPortFile,
    (controlPort) =>
      startSimulator({
        hosts: options.hosts,
        vmsPerHost: 0,
        timeScale: options.timeScale,
        baseAddress: options.baseAddress,
        password: xapiPassword,
        username,
        stateFile,
        controlPort,
      }),
    (sim) => Number(new URL(sim.controlUrl).port),
  );
  if (firstStart && options.vmsPerHost > 0) {
    // XenServer refuses to join a host with running VMs: only the first host (which founds the
    // pool) runs its VMs; the others' VMs are halted, as an operator would have them before pooling.
    simulator.hosts.forEach((h, i) => {
      for (const [n, memoryMiB] of [[Math.ceil(options.vmsPerHost / 2), 2048], [Math.floor(options.vmsPerHost / 2), 4096]] as const) {
        if (n > 0) simulator.control.addVms(h.name, { count: n, memoryMiB, powerState: i === 0 ? "Running" : "Halted", namePrefix: `${h.name}-${memoryMiB / 1024}g` });
      }
    });
  }
  const started: { database?: SandboxDatabase; controllers: Controller[]; agents: Agent[] } = { controllers: [], agents: [] };
  const close = async () => {
    await Promise.allSettled(started.agents.map((a) => a.close()));
    await Promise.allSettled(started.controllers.map((c) => c.close()));
    await started.database?.close();
    await simulator.close();
    releaseStateDir();
  };
  try {
    const replicas = options.replicas ?? 1;
    const database = (started.database = await sandboxDatabase(options.stateDir, replicas, options.db));
    const tokens = new TokenRegistry().add(adminToken, "admin").add(agentToken, "agent");
    const portOf = (i: number, offset: number) => (options.port === 0 ? 0 : options.port + 2 * i + offset);
    for (let i = 0; i < replicas; i++) {
      started.controllers.push(
        await startController({
          grpcListen: `127.0.0.1:${portOf(i, 0)}`,
          httpListen: `127.0.0.1:${portOf(i, 1)}`,
          dbPath: database.location,
          tokens,
          agentCredentials: { token: controllerToken },
          heartbeatIntervalMs: 5000,
          reconcileIntervalMs: 30_000,
          ...(replicas > 1 ? { replicaId: `replica-${i + 1}` } : {}),
          log: log.child({ component: "controller", ...(replicas > 1 ? { replica: `replica-${i + 1}` } : {}) }),
        }),
      );
    }
    const controller = started.controllers[0]!;
    const controllerEndpoints = started.controllers.map((c) => formatHostPort(c.grpcAddress));
    for (const host of simulator.hosts) {
      started.agents.push(
        await startAgent({
          listen: "127.0.0.1:0",
          hostName: host.name,
          xapiUrl: host.url,
          xapiUsername: username,
          xapiPassword,
          controller: controllerEndpoints.join(","),
          token: agentToken,
          controllerToken,
          heartbeatIntervalMs: 5000,
          pollIntervalMs: options.pollIntervalMs ?? 200,
          log: log.child({ component: "agent", host: host.name }),
        }),
      );
    }
    // Ready once every agent registered with its current endpoint (after a restart the records
    // still hold the previous run's endpoints).
    const names = simulator.hosts.map((h) => h.name);
    const endpoints = started.agents.map((a) => formatHostPort(a.address));
    const deadline = Date.now() + 60_000;
    const unregistered = async () => {
      const found = await Promise.all(names.map((n) => controller.context.store.hosts.get(n)));
      return names.filter((_, i) => found[i]?.agentEndpoint !== endpoints[i]);
    };
    for (let missing = await unregistered(); missing.length > 0; missing = await unregistered()) {
      if (Date.now() > deadline) throw new Error(`agents did not register within 60 s: ${missing.join(", ")}`);
      await new Promise((r) => setTimeout(r, 100)); // poll interval
    }
    const info: SandboxInfo = {
      controller: controllerEndpoints[0]!,
      controllers: controllerEndpoints,
      http: formatHostPort(controller.httpAddress!),
      console: `http://${formatHostPort(controller.httpAddress!)}/ui/`,
      adminToken,
      simulatorControl: simulator.controlUrl,
      hosts: simulator.hosts.map((h, i) => ({ name: h.name, xapiUrl: h.url, agent: started.agents[i]!.endpoint })),
      xapi: { username, password: xapiPassword },
    };
    writeFileSync(join(options.stateDir, "sandbox.json"), JSON.stringify(info, null, 2) + "\n", { mode: 0o600 });
    return { info, controller, controllers: started.controllers, simulator, agents: started.agents, close };
  } catch (err) {
    await close();
    throw err;
  }
}
