import { describe, expect, it } from "vitest";
import type { AggregateRecord } from "../model/records.js";
import { slicesOfAggregatesWithHosts } from "./periodic-pass.js";

describe("slicesOfAggregatesWithHosts", () => {
  it("pages through the store by id and yields to waiting I/O before every slice", async () => {
    const ids = [3, 7, 8, 20, 21];
    const asked: number[] = [];
    const events: string[] = [];
    const aggregates = {
      withHosts: async ({ afterId, limit }: { afterId: number; limit: number }) => {
        asked.push(afterId);
        events.push(`read after ${afterId}`);
        return ids.filter((id) => id > afterId).slice(0, limit).map((id) => ({ id }) as AggregateRecord);
      },
    };
    const slices: number[][] = [];
    for await (const slice of slicesOfAggregatesWithHosts(aggregates, 2)) {
      slices.push(slice.map((a) => a.id));
      // A request arriving while the slice is worked on runs before the next slice is read.
      setImmediate(() => events.push("request"));
    }
    expect(slices).toEqual([[3, 7], [8, 20], [21]]);
    expect(asked).toEqual([0, 7, 20, 21]);
    expect(events).toEqual(["read after 0", "request", "read after 7", "request", "read after 20", "request", "read after 21"]);
  });
});
