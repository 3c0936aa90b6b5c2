/** Starts bench/fleet-agents.ts (simulated agents registering and heartbeating) against a controller. */
import { setPriority } from "node:os";
import { fileURLToPath } from "node:url";
import type { FleetAgentStats } from "../fleet-agents.js";
import { startChild, type Child } from "./children.js";
import type { FleetLayout } from "./fleet-layout.js";
import type { ControllerProcess } from "./servers.js";

/** The running simulated agents, with their latest counters. */
export interface FleetAgentsProcess {
  child: Child;
  /** The counters the process printed last. */
  stats(): FleetAgentStats;
}

/** Starts the simulated agents; resolves once every host is registered. */
export async function startFleetAgents(controller: ControllerProcess, layout: FleetLayout, intervalMs: number): Promise<FleetAgentsProcess> {
  let latest: FleetAgentStats = { heartbeats: 0, failed: 0, reregistered: 0, maxMs: 0 };
  const child = await startChild({
    name: "fleet agents",
    command: process.execPath,
    args: [
      "--import",
      "tsx",
      fileURLToPath(new URL("../fleet-agents.ts", import.meta.url)),
      "--address",
      controller.address,
      "--hosts",
      String(layout.hosts),
      "--pooled",
      String(layout.pooledHosts),
      "--interval-ms",
      String(intervalMs),
    ],
    // The token goes in the environment, never on a command line.
    env: { ...process.env, BENCH_AGENT_TOKEN: controller.agentToken },
    readyPattern: /^fleet-agents registered \d+$/,
    readyTimeoutMs: 120_000,
    stdinPipe: true,
    onLine: (line) => {
      try {
        latest = JSON.parse(line) as FleetAgentStats;
      } catch {
        // not a counters line
      }
    },
  });
  // The agents stand for 1,000 remote hosts, whose CPU in production is not the controller's machine's:
  // at a lower priority (nice 10), the two cores go to the controller and its clients first.
  setPriority(child.process.pid!, 10);
  return { child, stats: () => latest };
}
