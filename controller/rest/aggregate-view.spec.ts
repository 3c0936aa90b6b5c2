import { describe, expect, it } from "vitest";
import { aggregateRecord } from "../../test/support/records.js";
import { AggregateJson, aggregateView } from "./aggregate-view.js";

const record = (name: string) => aggregateRecord({ id: 3, name, members: [{ host: "xs1", state: "MEMBER" }, { host: "xs2", state: "LEAVING" }] });

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
