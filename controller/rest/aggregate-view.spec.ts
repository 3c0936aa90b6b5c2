import { describe, expect, it } from "vitest";
import type { AggregateRecord } from "../model/records.js";
import { AggregateJson, aggregateView } from "./aggregate-view.js";

const record = (name: string): AggregateRecord => ({
  id: 3,
  uuid: "00000000-0000-4000-8000-000000000003",
  name,
  availabilityZone: "az-1",
  azFromHost: false,
  poolState: "ACTIVE",
  masterHost: "xs1",
  poolUuid: "pool-1",
  lastError: null,
  drift: [],
  lostVms: [],
  checkedAt: null,
  createdAt: "2026-12-02T06:00:00.000Z",
  updatedAt: "2026-12-02T06:30:00.000Z",
  metadata: { tier: "gold" },
  members: [{ host: "xs1", state: "MEMBER" }, { host: "xs2", state: "LEAVING" }],
});

describe("AggregateJson", () => {
  it("is the JSON of the full body at each microversion, and follows a changed record", () => {
    const json = new AggregateJson();
    const a = record("first");
    for (const v of [{ major: 2, minor: 1 }, { major: 2, minor: 41 }]) {
      expect(JSON.parse(json.text(a, v))).toEqual(aggregateView(a, v));
      expect(json.text(a, v)).toBe(JSON.stringify(aggregateView(a, v)));
    }
    expect(JSON.parse(json.text(a, { major: 2, minor: 41 })).uuid).toBe(a.uuid);
    expect(JSON.parse(json.text(a, { major: 2, minor: 1 })).uuid).toBeUndefined();
    expect(JSON.parse(json.text(record("second"), { major: 2, minor: 1 })).name).toBe("second");
  });
});
