/**
 * The controller's metrics: one registry per controller, the counters behind the ControllerMetrics
 * port, the store-backed gauges, and the /metrics route for the HTTP port. docs/metrics.md lists them.
 */
import type { TokenRegistry } from "../../shared/auth.js";
import { metricsRoute } from "../../shared/metrics/http.js";
import { newRegistry } from "../../shared/metrics/registry.js";
import type { HttpRoute } from "../../shared/rpc/server.js";
import type { Registry } from "prom-client";
import type { ControllerMetrics } from "../context.js";
import type { Store } from "../store/store.js";
import { PromControllerMetrics } from "./counters.js";
import { scrapeAccess } from "./scrape-access.js";
import { poolStateFamily } from "./pool-state-family.js";
import { registerStoreGauges } from "./store-gauges.js";

/** A controller's metrics. */
export interface ControllerMetricsSetup {
  registry: Registry;
  /** What the engine, migrations and the detector count. */
  port: ControllerMetrics;
  /** GET /metrics, for a metrics or admin token. */
  route: HttpRoute;
}

/** Builds the metrics of one controller. */
export function createControllerMetrics(options: { store: Store; tokens: TokenRegistry; processMetrics?: boolean }): ControllerMetricsSetup {
  const registry = newRegistry({ processMetrics: options.processMetrics });
  const port = new PromControllerMetrics(registry);
  registerStoreGauges(registry, options.store);
  // The registry's families, then the pool state of every aggregate (written apart: pool-state-family.ts).
  const source = { contentType: registry.contentType, metrics: async () => `${await registry.metrics()}\n${await poolStateFamily(options.store.aggregates)}` };
  return { registry, port, route: metricsRoute(source, scrapeAccess(options.tokens)) };
}
