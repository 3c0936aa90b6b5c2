/**
 * The per-process metrics registry (never prom-client's global one, so several controllers and
 * agents can run in one test process), and the label hygiene every daemon applies.
 */
import { collectDefaultMetrics, Registry } from "prom-client";

/** The prefix of every metric the product defines (process_* and nodejs_* keep their usual names). */
export const metricPrefix = "hostaggregates_";

/** Options of newRegistry. */
export interface RegistryOptions {
  /**
   * Also export prom-client's process and Node.js metrics (CPU, memory, event-loop lag, GC). They
   * install process-wide observers that are never removed, so daemons turn them on and tests that
   * start many servers in one process leave them off.
   */
  processMetrics?: boolean;
}

/** A fresh registry for one controller or agent. */
export function newRegistry(options: RegistryOptions = {}): Registry {
  const registry = new Registry();
  if (options.processMetrics) collectDefaultMetrics({ register: registry });
  return registry;
}

/** Buckets (seconds) for durations from milliseconds to an hour: XenAPI calls, operation steps. */
export const durationBuckets: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

const codePattern = /^[A-Za-z0-9_.]{1,64}$/;

/**
 * A code fit for a label value: an identifier of at most 64 characters, else "OTHER". Codes come
 * from the other side of a connection (a XenAPI server's error code), so they are bounded here;
 * free text such as error messages or parameters never becomes a label.
 */
export function codeLabel(code: string): string {
  return codePattern.test(code) ? code : "OTHER";
}
