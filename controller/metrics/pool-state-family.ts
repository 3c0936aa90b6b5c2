/**
 * `hostaggregates_aggregate_pool_state`, written in the Prometheus text format here instead of kept as
 * a prom-client gauge. It has four series per aggregate (1 for the current state, 0 for the others),
 * so at fleet size (10,200 aggregates: 40,800 series) the gauge's per-series bookkeeping and its
 * serialization took 200–500 ms of CPU per scrape in one turn of the event loop, and its heap grew by
 * tens of MiB. This reads only each aggregate's id, name and state, a page at a time (requests run
 * between pages), and writes each page's lines at once.
 */
import { metricPrefix } from "../../shared/metrics/registry.js";
import type { PoolStateName } from "../model/records.js";
import type { AggregateStore } from "../store/store.js";

/** The states, in the order each aggregate's series are written. */
export const poolStates: readonly PoolStateName[] = ["EMPTY", "CHANGING", "ACTIVE", "ERROR"];

/** The family's name. */
export const poolStateMetric = `${metricPrefix}aggregate_pool_state`;

const help = "Pool state of each aggregate: 1 for its current state (EMPTY, CHANGING, ACTIVE, ERROR), 0 for the others.";

/** Aggregates read (and written out) per step. */
const pageSize = 500;

/** A label value as the text format quotes it: backslash, double quote and line feed escaped. */
export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n") : value;
}

/** The family's lines for one aggregate. */
function seriesOf(a: { id: number; name: string; poolState: PoolStateName }): string {
  const labels = `${poolStateMetric}{aggregate_id="${a.id}",aggregate="${escapeLabelValue(a.name)}",state="`;
  let lines = "";
  for (const state of poolStates) lines += `${labels}${state}"} ${a.poolState === state ? 1 : 0}\n`;
  return lines;
}

/** The whole family (HELP, TYPE and every aggregate's four series), ending with a line feed. */
export async function poolStateFamily(aggregates: Pick<AggregateStore, "poolStates">): Promise<string> {
  const parts = [`# HELP ${poolStateMetric} ${help}\n# TYPE ${poolStateMetric} gauge\n`];
  for (let afterId = 0; ; ) {
    const page = await aggregates.poolStates({ afterId, limit: pageSize });
    let text = "";
    for (const a of page) text += seriesOf(a);
    parts.push(text);
    if (page.length < pageSize) break;
    afterId = page.at(-1)!.id;
    // Let the requests that arrived meanwhile run before the next page.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return parts.join("");
}
