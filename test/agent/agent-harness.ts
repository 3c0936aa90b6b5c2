/**
 * Test harness for agent suites: a simulator (own loopback range), the real controller, and
 * agents for chosen simulator hosts, each with a PoolAgentService client holding the agent token.
 */
import type { Client } from "@connectrpc/connect";
import { PoolAgentService } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import { startAgent, type Agent, type AgentOptions } from "../../agent/index.js";
import { createLogger, type Logger } from "../../shared/logging.js";
import { createRpcClient } from "../../shared/rpc/client.js";
import { startSimulator, type Simulator, type SimulatorOptions } from "../../simulator/index.js";
import { startTestController, type TestController } from "../support/controller-harness.js";

/** The XAPI password every harness simulator uses; tests grep logs and errors for it. */
export const xapiPassword = "S3cret-xapi-Pa55word";

/** One agent with a client to it. */
export interface HarnessAgent {
  agent: Agent;
  client: Client<typeof PoolAgentService>;
  hostName: string;
}

/** A simulator, a controller and agents. */
export interface AgentWorld {
  sim: Simulator;
  controller: TestController;
  agents: Map<string, HarnessAgent>;
  /** Every log line the agents wrote. */
  logLines: string[];
  /** Starts an agent for a simulator host (by name); it is kept under overrides.hostName ?? the host's name. */
  addAgent(hostName: string, overrides?: Partial<AgentOptions>): Promise<HarnessAgent>;
  /** The agent of a host. */
  agent(hostName: string): HarnessAgent;
  /** The simulator's view of a host. */
  host(name: string): ReturnType<Simulator["control"]["host"]>;
  close(): Promise<void>;
}

/** Options of startAgentWorld. */
export interface AgentWorldOptions {
  /** Simulator options (hosts, baseAddress 127.0.0.130+ …). */
  sim: SimulatorOptions;
  /** Hosts that get an agent at start (default: every host). */
  agentsFor?: string[];
  /** Controller heartbeat interval (default 1 s; suites that watch heartbeats use less). */
  heartbeatIntervalMs?: number;
}

/** Fast agent timings for the simulator at timeScale 0.01. */
export const fastAgentOptions: Partial<AgentOptions> = {
  pollIntervalMs: 25,
  callTimeoutMs: 5_000,
  timings: { joinTimeoutMs: 15_000, ejectTimeoutMs: 15_000, designateTimeoutMs: 15_000, emergencyTimeoutMs: 15_000, migrateTimeoutMs: 15_000 },
  controllerBackoff: { initialMs: 50, maxMs: 400 },
};

/** Starts the simulator, the controller, and agents. */
export async function startAgentWorld(options: AgentWorldOptions): Promise<AgentWorld> {
  const sim = await startSimulator({ password: xapiPassword, timeScale: 0.01, ...options.sim });
  const controller = await startTestController({ heartbeatIntervalMs: options.heartbeatIntervalMs ?? 1_000 }).catch(async (err: unknown) => {
    await sim.close();
    throw err;
  });
  const logLines: string[] = [];
  const agents = new Map<string, HarnessAgent>();

  const addAgent = async (hostName: string, overrides: Partial<AgentOptions> = {}): Promise<HarnessAgent> => {
    const host = sim.hosts.find((h) => h.name === hostName);
    if (!host) throw new Error(`no simulator host ${hostName}`);
    const log: Logger = createLogger("agent", { level: "debug", sink: (line) => logLines.push(line) });
    const agent = await startAgent({
      listen: "127.0.0.1:0",
      hostName,
      xapiUrl: host.url,
      xapiUsername: "root",
      xapiPassword,
      controller: controller.grpcEndpoint,
      token: controller.agentToken,
      availabilityZone: "az1",
      log,
      ...fastAgentOptions,
      ...overrides,
    });
    const client = createRpcClient(PoolAgentService, { endpoint: agent.endpoint, token: controller.agentToken });
    const name = overrides.hostName ?? hostName;
    const entry = { agent, client, hostName: name };
    agents.set(name, entry);
    return entry;
  };

  try {
    for (const name of options.agentsFor ?? sim.hosts.map((h) => h.name)) await addAgent(name);
  } catch (err) {
    await Promise.all([...agents.values()].map((a) => a.agent.close()));
    await controller.close();
    await sim.close();
    throw err;
  }

  return {
    sim,
    controller,
    agents,
    logLines,
    addAgent,
    agent(hostName) {
      const entry = agents.get(hostName);
      if (!entry) throw new Error(`no agent for ${hostName}`);
      return entry;
    },
    host: (name) => sim.control.host(name),
    async close() {
      await Promise.all([...agents.values()].map((a) => a.agent.close()));
      await controller.close();
      await sim.close();
    },
  };
}

export { eventually } from "../support/eventually.js";
