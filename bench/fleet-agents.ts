/**
 * Simulated agents for the `fleet` bench section: one process standing in for many agents. Each
 * simulated host registers (RegisterHost) and then heartbeats (Heartbeat) with the agent token,
 * over its own connection, with the messages bench/lib/fleet-layout.ts describes — the calls
 * agent/registry/registrar.ts makes. Heartbeats are spread evenly over the interval (1,000 hosts every
 * 10 s: 100 heartbeats/s); a heartbeat answered `reregister` registers the host again.
 *
 * Usage: BENCH_AGENT_TOKEN=… node --import tsx bench/fleet-agents.ts --address HOST:PORT --hosts N
 *          --pooled N --interval-ms MS
 * Prints "fleet-agents registered N" once every host is registered, then a JSON line of counters
 * (FleetAgentStats) every second. Ends on SIGTERM or when stdin closes.
 */
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import type { Client } from "@connectrpc/connect";
import { AgentRegistryService } from "../gen/hostaggregates/v1/agent_registry_pb.js";
import { createRpcClient } from "../shared/rpc/client.js";
import { heartbeatRequest, registration, type FleetLayout } from "./lib/fleet-layout.js";
import { inPool } from "./lib/seed.js";

/** Counters printed every second. */
export interface FleetAgentStats {
  heartbeats: number;
  failed: number;
  reregistered: number;
  /** Slowest heartbeat answer so far, in ms. */
  maxMs: number;
  firstError?: string;
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      address: { type: "string" },
      hosts: { type: "string" },
      pooled: { type: "string", default: "0" },
      "interval-ms": { type: "string", default: "10000" },
    },
    strict: true,
  });
  const token = process.env.BENCH_AGENT_TOKEN;
  if (!values.address || !values.hosts || !token) throw new Error("needs --address, --hosts and BENCH_AGENT_TOKEN");
  const layout: FleetLayout = { hosts: Number(values.hosts), pooledHosts: Number(values.pooled) };
  const intervalMs = Number(values["interval-ms"]);
  const clients: Client<typeof AgentRegistryService>[] = Array.from({ length: layout.hosts }, () =>
    createRpcClient(AgentRegistryService, { endpoint: values.address!, token, defaultTimeoutMs: 10_000 }),
  );
  const stats: FleetAgentStats = { heartbeats: 0, failed: 0, reregistered: 0, maxMs: 0 };
  const fail = (err: unknown) => {
    stats.failed++;
    stats.firstError ??= messageOf(err);
  };

  await inPool(
    Array.from({ length: layout.hosts }, (_, i) => i),
    16,
    async (i) => void (await clients[i]!.registerHost(registration(layout, i))),
  );
  console.log(`fleet-agents registered ${layout.hosts}`);

  const beat = async (i: number) => {
    const t0 = performance.now();
    try {
      const answer = await clients[i]!.heartbeat(heartbeatRequest(layout, i));
      stats.heartbeats++;
      stats.maxMs = Math.max(stats.maxMs, performance.now() - t0);
      if (answer.reregister) {
        await clients[i]!.registerHost(registration(layout, i));
        stats.reregistered++;
      }
    } catch (err) {
      fail(err);
    }
  };
  // Host i beats at start + i × interval / hosts, then every interval.
  const start = performance.now();
  let sent = 0;
  const ticker = setInterval(() => {
    const due = Math.floor(((performance.now() - start) * layout.hosts) / intervalMs);
    for (; sent < due; sent++) void beat(sent % layout.hosts);
  }, 5);
  const reporter = setInterval(() => console.log(JSON.stringify(stats)), 1000);
  const end = () => {
    clearInterval(ticker);
    clearInterval(reporter);
    process.exit(0);
  };
  process.on("SIGTERM", end);
  process.stdin.on("close", end).resume();
}

main().catch((err: unknown) => {
  console.error(`fleet-agents: ${messageOf(err)}`);
  process.exit(1);
});
