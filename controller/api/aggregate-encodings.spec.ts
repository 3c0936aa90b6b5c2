import { create, fromBinary, toJsonString } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { AggregateSchema, ListAggregatesResponseSchema } from "../../gen/hostaggregates/v1/aggregate_pb.js";
import { repeatedMessageField, repeatedMessageJson } from "../../shared/rpc/encoded-message.js";
import type { AggregateRecord } from "../model/records.js";
import { aggregateRecord } from "../../test/support/records.js";
import { AggregateEncodings, viewMessage } from "./aggregate-encodings.js";

const record = (id: number, changes: Partial<AggregateRecord> = {}) => aggregateRecord({ id, ...changes });

describe("AggregateEncodings", () => {
  it("encodes what viewMessage builds, and reuses the bytes while nothing changed", () => {
    const encodings = new AggregateEncodings();
    const view = { record: record(7), headroom: 2 };
    const bytes = encodings.bytes(view);
    expect(fromBinary(AggregateSchema, bytes)).toEqual(create(AggregateSchema, viewMessage(view)));
    expect(encodings.bytes({ record: record(7), headroom: 2 })).toBe(bytes);
  });

  it("encodes again when the record or the headroom changed", () => {
    const encodings = new AggregateEncodings();
    const first = encodings.bytes({ record: record(7), headroom: 2 });
    const renamed = encodings.bytes({ record: record(7, { name: "renamed" }), headroom: 2 });
    expect(fromBinary(AggregateSchema, renamed).name).toBe("renamed");
    const fuller = encodings.bytes({ record: record(7, { name: "renamed" }), headroom: 1 });
    expect(fromBinary(AggregateSchema, fuller).pool?.maintenanceHeadroom).toBe(1);
    expect(new Set([first, renamed, fuller]).size).toBe(3);
    expect(encodings.size).toBe(1);
  });

  it("encodes again when the lease changes hands or epoch, not when only its expiry moved", () => {
    const encodings = new AggregateEncodings();
    const lease = (holder: string, epoch: number, expiresAt: string) => ({ aggregateId: 7, holder, epoch, expiresAt });
    const first = encodings.bytes({ record: record(7), lease: lease("a:1", 1, "2026-12-02T07:00:00.000Z") });
    expect(fromBinary(AggregateSchema, first)).toMatchObject({ leaseHolder: "a:1", leaseEpoch: 1n });
    expect(encodings.bytes({ record: record(7), lease: lease("a:1", 1, "2026-12-02T07:00:05.000Z") })).toBe(first);
    expect(fromBinary(AggregateSchema, encodings.bytes({ record: record(7), lease: lease("b:2", 2, "2026-12-02T07:00:09.000Z") }))).toMatchObject({ leaseHolder: "b:2", leaseEpoch: 2n });
    expect(fromBinary(AggregateSchema, encodings.bytes({ record: record(7) }))).toMatchObject({ leaseHolder: "", leaseEpoch: 0n });
  });

  it("stays within its bound", () => {
    const encodings = new AggregateEncodings(3);
    for (let id = 1; id <= 10; id++) encodings.bytes({ record: record(id) });
    expect(encodings.size).toBeLessThanOrEqual(3);
  });

  it("keeps the JSON text that toJsonString writes for the message, and renews it with the bytes", () => {
    const encodings = new AggregateEncodings();
    const lease = { aggregateId: 7, holder: "a:1", epoch: 3, expiresAt: "2026-12-02T07:00:00.000Z" };
    const view = { record: record(7, { metadata: { owner: "ops" } }), headroom: 2, lease };
    const json = encodings.json(view);
    expect(json).toBe(toJsonString(AggregateSchema, create(AggregateSchema, viewMessage(view))));
    expect(encodings.json({ ...view, record: record(7, { metadata: { owner: "ops" } }) })).toBe(json);
    const renamed = { ...view, record: record(7, { name: "renamed" }) };
    expect(JSON.parse(encodings.json(renamed)).name).toBe("renamed");
    // Bytes and JSON of one entry describe the same message.
    expect(toJsonString(AggregateSchema, fromBinary(AggregateSchema, encodings.bytes(renamed)))).toBe(encodings.json(renamed));
  });

  it("builds a list answer's JSON from the entries' texts as toJsonString writes the list message (empty list and token left out)", () => {
    const encodings = new AggregateEncodings();
    const views = [{ record: record(1) }, { record: record(2, { members: [], poolState: "EMPTY", masterHost: null }) }];
    const expected = (aggregates: typeof views, nextPageToken: string) =>
      toJsonString(ListAggregatesResponseSchema, create(ListAggregatesResponseSchema, { aggregates: aggregates.map(viewMessage), nextPageToken }));
    const built = (aggregates: typeof views, token: string) => repeatedMessageJson("aggregates", aggregates.map((v) => encodings.json(v)), [["nextPageToken", token]]);
    for (const [list, token] of [[views, "next"], [views, ""], [[], ""], [[], "t"]] as const) expect(built([...list], token)).toBe(expected([...list], token));
  });

  it("builds a list answer from the entries' bytes that decodes as the list message", () => {
    const encodings = new AggregateEncodings();
    const views = [{ record: record(1) }, { record: record(2, { members: [], poolState: "EMPTY", masterHost: null }) }];
    const list = (token: string) => fromBinary(ListAggregatesResponseSchema, repeatedMessageField(1, views.map((v) => encodings.bytes(v)), [[2, token]]));
    expect(list("next")).toEqual(create(ListAggregatesResponseSchema, { aggregates: views.map(viewMessage), nextPageToken: "next" }));
    expect(list("").nextPageToken).toBe("");
  });
});
