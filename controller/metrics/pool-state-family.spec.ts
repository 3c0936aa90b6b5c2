import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { describe, expect, it } from "vitest";
import type { PoolStateName } from "../model/records.js";
import type { AggregatePoolState } from "../store/store.js";
import { escapeLabelValue, poolStateFamily, poolStateMetric } from "./pool-state-family.js";

/** A store of these aggregates, recording the pages asked for. */
function storeOf(aggregates: AggregatePoolState[]) {
  const asked: { afterId: number; limit: number }[] = [];
  return {
    asked,
    poolStates: async (o: { afterId: number; limit: number }) => {
      asked.push(o);
      return aggregates.filter((a) => a.id > o.afterId).slice(0, o.limit);
    },
  };
}

describe("poolStateFamily", () => {
  it("writes four series per aggregate, 1 for its state, read by a real parser", async () => {
    const states: PoolStateName[] = ["EMPTY", "CHANGING", "ACTIVE", "ERROR"];
    const aggregates = [1, 2, 3, 4].map((id) => ({ id, name: `agg-${id}`, poolState: states[id - 1]! }));
    const [family, ...others] = parsePrometheusTextFormat(await poolStateFamily(storeOf(aggregates)));
    expect(others).toEqual([]);
    expect(family).toMatchObject({ name: poolStateMetric, type: "GAUGE" });
    expect(family!.metrics).toHaveLength(16);
    for (const a of aggregates) {
      const mine = family!.metrics.filter((m) => m.labels?.aggregate_id === String(a.id));
      expect(mine.map((m) => [m.labels?.aggregate, m.labels?.state, m.value])).toEqual(states.map((s) => [a.name, s, s === a.poolState ? "1" : "0"]));
    }
  });

  it("reads the aggregates a page at a time, after the last id of the page before", async () => {
    const aggregates = Array.from({ length: 1200 }, (_, i) => ({ id: 3 * i + 1, name: `a${i}`, poolState: "EMPTY" as const }));
    const store = storeOf(aggregates);
    const [family] = parsePrometheusTextFormat(await poolStateFamily(store));
    expect(store.asked).toEqual([{ afterId: 0, limit: 500 }, { afterId: 1498, limit: 500 }, { afterId: 2998, limit: 500 }]);
    expect(new Set(family!.metrics.map((m) => m.labels?.aggregate_id)).size).toBe(1200);
  });

  it("has HELP and TYPE and no series when there is no aggregate", async () => {
    expect(await poolStateFamily(storeOf([]))).toMatch(new RegExp(`^# HELP ${poolStateMetric} .+\\n# TYPE ${poolStateMetric} gauge\\n$`));
  });

  it("escapes backslashes, double quotes and line feeds in names", async () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    expect(escapeLabelValue("plain name")).toBe("plain name");
    const [family] = parsePrometheusTextFormat(await poolStateFamily(storeOf([{ id: 7, name: 'odd "name" \\ here', poolState: "ACTIVE" }])));
    expect(family!.metrics[0]!.labels?.aggregate).toBe('odd "name" \\ here');
  });
});
