/**
 * The agent's metrics, in one registry per agent: XenAPI call latency and failures by method
 * (recorded by every call, agent/xapi/xapi-rpc.ts), and, read when scraped, the registrar's
 * counters and the own XAPI's reachability and toolstack restarts. docs/metrics.md lists them.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { codeLabel, durationBuckets, metricPrefix, newRegistry } from "../../shared/metrics/registry.js";
import type { RegistrarStats } from "../registry/registrar.js";
import type { XapiCallFailure, XapiCallRecorder } from "../xapi/xapi-rpc.js";

const prefix = `${metricPrefix}agent_`;

/** What the scrape-time metrics read. */
export interface AgentStatus {
  registrar: RegistrarStats;
  /** Whether the last call to the own XAPI reached it (undefined before the first call). */
  xapiReachable: boolean | undefined;
  /** Toolstack restarts of the own host noticed so far. */
  toolstackRestarts: number;
}

/** A counter whose value is read from a running total when scraped. */
function totalCounter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name: `${prefix}${name}`,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

/** One agent's metrics; its recorder goes to the XenAPI client. */
export class AgentMetrics implements XapiCallRecorder {
  readonly registry: Registry;
  private readonly calls: Histogram<"method">;
  private readonly errors: Counter<"method" | "kind" | "code">;
  #status: (() => AgentStatus) | undefined;

  constructor(options: { hostName: string; processMetrics?: boolean }) {
    this.registry = newRegistry({ processMetrics: options.processMetrics });
    // Every series names its host, so one Prometheus job can scrape every agent.
    this.registry.setDefaultLabels({ host: options.hostName });
    const registers = [this.registry];
    this.calls = new Histogram({
      name: `${prefix}xapi_call_duration_seconds`,
      help: "Duration of XenAPI calls from this agent, by method (failed calls included).",
      labelNames: ["method"],
      buckets: [...durationBuckets],
      registers,
    });
    this.errors = new Counter({
      name: `${prefix}xapi_call_errors_total`,
      help: "Failed XenAPI calls, by method, kind (xenapi: XAPI refused with a code; unreachable: refused, reset, timeout, protocol, other; cancelled) and code.",
      labelNames: ["method", "kind", "code"],
      registers,
    });
    totalCounter(this.registry, "registrations_total", "RegisterHost calls the controller accepted.", () => this.status().registrar.registrations);
    totalCounter(this.registry, "heartbeats_total", "Heartbeat calls the controller accepted.", () => this.status().registrar.heartbeats);
    totalCounter(this.registry, "controller_call_failures_total", "RegisterHost and Heartbeat calls that failed (controller unreachable or refusing).", () => this.status().registrar.failures);
    totalCounter(this.registry, "toolstack_restarts_total", "Toolstack restarts of the own host noticed (sessions invalidated, or the endpoint down then up).", () => this.status().toolstackRestarts);
    const status = () => this.status();
    new Gauge({
      name: `${prefix}xapi_reachable`,
      help: "1 when the last call to the own host's XAPI reached it, 0 when it did not (absent before the first call).",
      registers,
      collect() {
        const reachable = status().xapiReachable;
        this.reset();
        if (reachable !== undefined) this.set(reachable ? 1 : 0);
      },
    });
  }

  /** Where the scrape-time metrics read from (set once the registrar exists). */
  readStatusFrom(read: () => AgentStatus): void {
    this.#status = read;
  }

  private status(): AgentStatus {
    return this.#status?.() ?? { registrar: { registrations: 0, heartbeats: 0, failures: 0 }, xapiReachable: undefined, toolstackRestarts: 0 };
  }

  callEnded(method: string, seconds: number, failure?: XapiCallFailure): void {
    const label = codeLabel(method);
    this.calls.observe({ method: label }, Math.max(0, seconds));
    if (!failure) return;
    const code = failure.kind === "xenapi" ? codeLabel(failure.code) : failure.kind === "unreachable" ? failure.reason : "";
    this.errors.inc({ method: label, kind: failure.kind, code });
  }
}
