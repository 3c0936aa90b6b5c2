/**
 * AggregateService over real gRPC with real token checks: every method, and every validation
 * and error row of docs/os-aggregates.md §Outcomes shared with the gRPC API that applies without pool
 * orchestration.
 */
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MembershipState, PoolState, type Aggregate } from "../../gen/hostaggregates/v1/aggregate_pb.js";
import { OperationKind, OperationState, RollingAction } from "../../gen/hostaggregates/v1/operation_pb.js";
import { clockPast, hostRegistration, putHostInAggregate, startTestController, type TestController } from "../support/controller-harness.js";
import { expectInvalidField, expectRpcError, violatedFields } from "../support/rpc-errors.js";
import { errorAfterFailure } from "../../controller/model/lifecycle.js";
import { agentFailureOf } from "../../shared/agent-errors.js";

/** Test setup only: the error a failed operation would record. */
const testFailure = () =>
  errorAfterFailure(null, { kind: "ADD_HOST", operationId: "op-test", error: { code: "INTERNAL", message: "test failure" }, finishedAt: new Date().toISOString(), breaksPool: true });

let h: TestController;
beforeAll(async () => {
  h = await startTestController();
});
afterAll(async () => {
  await h?.close();
});

let unique = 0;
/** A name no other test uses. */
const name = (prefix: string) => `${prefix}-${++unique}`;
const create = (prefix: string, availabilityZone?: string) => h.aggregates.createAggregate({ name: name(prefix), availabilityZone });
const get = (id: bigint) => h.aggregates.getAggregate({ id });
const updatedMs = (a: Aggregate) => timestampMs(a.updatedAt!);

describe("CreateAggregate", () => {
  it("creates an aggregate with an availability zone: empty pool, created_at == updated_at", async () => {
    const before = Date.now();
    const a = await h.aggregates.createAggregate({ name: "create-with-az", availabilityZone: "az-1" });
    expect(a.id).toBeGreaterThan(0n);
    expect(a.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(a.name).toBe("create-with-az");
    expect(a.availabilityZone).toBe("az-1");
    expect(a.hosts).toEqual([]);
    expect(a.members).toEqual([]);
    expect(a.metadata).toEqual({});
    expect(a.pool?.state).toBe(PoolState.EMPTY);
    expect(a.pool?.masterHost).toBe("");
    expect(a.createdAt).toBeDefined();
    expect(timestampMs(a.createdAt!)).toBe(timestampMs(a.updatedAt!));
    expect(timestampMs(a.createdAt!)).toBeGreaterThanOrEqual(before - 1);
    expect(timestampMs(a.createdAt!)).toBeLessThanOrEqual(Date.now() + 1);
    expect(await get(a.id)).toEqual(a);
  });

  it("creates an aggregate without an availability zone", async () => {
    const a = await h.aggregates.createAggregate({ name: "create-without-az" });
    expect(a.availabilityZone).toBe("");
    expect(a.pool?.state).toBe(PoolState.EMPTY);
    expect(timestampMs(a.createdAt!)).toBe(timestampMs(a.updatedAt!));
    expect((await get(a.id)).availabilityZone).toBe("");
  });

  it("gives distinct ids and uuids", async () => {
    const [a, b] = await Promise.all([create("distinct"), create("distinct")]);
    expect(a.id).not.toBe(b.id);
    expect(a.uuid).not.toBe(b.uuid);
  });

  it("refuses a duplicate name with ALREADY_EXISTS", async () => {
    const a = await create("dup");
    const err = await expectRpcError(h.aggregates.createAggregate({ name: a.name, availabilityZone: "az-other" }), Code.AlreadyExists);
    expect(err.rawMessage).toContain(a.name);
  });

  it("concurrent creates of one name: one is created, the other gets ALREADY_EXISTS, and the burst's other create commits", async () => {
    // The refusal is the insert's (the table's unique name): inside a shared group commit it must undo only its own statement.
    const [first, second, other] = await Promise.allSettled([
      h.aggregates.createAggregate({ name: "dup-burst" }),
      h.aggregates.createAggregate({ name: "dup-burst" }),
      h.aggregates.createAggregate({ name: "dup-burst-other" }),
    ]);
    const created = [first, second].filter((r) => r.status === "fulfilled");
    const refused = [first, second].filter((r) => r.status === "rejected");
    expect(created).toHaveLength(1);
    expect(refused).toHaveLength(1);
    await expectRpcError(Promise.reject(refused[0]!.reason), Code.AlreadyExists);
    expect(other.status).toBe("fulfilled");
    const listed = (await h.aggregates.listAggregates({ pageSize: 1000 })).aggregates.map((a) => a.name).filter((n) => n.startsWith("dup-burst"));
    expect(listed.sort()).toEqual(["dup-burst", "dup-burst-other"]);
  });

  it.each([
    ["a leading blank", " lead"],
    ["a trailing blank", "trail "],
    ["a trailing tab", "tab\t"],
    ["more than 255 characters", "n".repeat(256)],
    ["no characters", ""],
    ["a control character", "ctl\u0001name"],
    ["a newline", "line\nbreak"],
    ["a DEL character", "del\u007fname"],
  ])("refuses a name with %s: INVALID_ARGUMENT on field name", async (_what, bad) => {
    await expectInvalidField(h.aggregates.createAggregate({ name: bad }), "name");
    const all = await h.aggregates.listAggregates({ pageSize: 1000 });
    expect(all.aggregates.map((a) => a.name)).not.toContain(bad);
  });

  it("accepts a name of exactly 255 characters (counted as characters, not bytes)", async () => {
    const ascii = "x".repeat(255);
    expect((await h.aggregates.createAggregate({ name: ascii })).name).toBe(ascii);
    const accented = "é".repeat(255);
    expect((await h.aggregates.createAggregate({ name: accented })).name).toBe(accented);
    await expectInvalidField(h.aggregates.createAggregate({ name: "é".repeat(256) }), "name");
  });

  it("accepts inner blanks and printable non-ASCII", async () => {
    const a = await h.aggregates.createAggregate({ name: "rack 7 — Zürich" });
    expect(a.name).toBe("rack 7 — Zürich");
  });

  it.each([
    ["empty", ""],
    ["containing ':'", "az:1"],
    ["longer than 255 characters", "z".repeat(256)],
    ["with surrounding blanks", " az "],
  ])("refuses an availability zone %s: INVALID_ARGUMENT on field availability_zone", async (_what, bad) => {
    const n = name("bad-az");
    await expectInvalidField(h.aggregates.createAggregate({ name: n, availabilityZone: bad }), "availability_zone");
    // Nothing was created.
    await expect(h.aggregates.createAggregate({ name: n })).resolves.toMatchObject({ name: n });
  });

  it("reports every invalid field at once", async () => {
    const err = await expectRpcError(h.aggregates.createAggregate({ name: "", availabilityZone: "a:b" }), Code.InvalidArgument);
    expect(violatedFields(err).sort()).toEqual(["availability_zone", "name"]);
  });

  it("validate_only checks the request without creating anything", async () => {
    const n = name("dry-run");
    const dry = await h.aggregates.createAggregate({ name: n, availabilityZone: "az-dry", validateOnly: true });
    expect(dry.name).toBe(n);
    expect(dry.id).toBe(0n);
    const listed = await h.aggregates.listAggregates({ availabilityZone: "az-dry" });
    expect(listed.aggregates).toEqual([]);
    await expectInvalidField(h.aggregates.createAggregate({ name: " x", validateOnly: true }), "name");
    const real = await create("dry-dup");
    await expectRpcError(h.aggregates.createAggregate({ name: real.name, validateOnly: true }), Code.AlreadyExists);
    // The dry-run name is still free.
    await expect(h.aggregates.createAggregate({ name: n })).resolves.toMatchObject({ name: n });
  });
});

describe("GetAggregate", () => {
  it("returns NOT_FOUND for an unknown id", async () => {
    const err = await expectRpcError(get(987_654n), Code.NotFound);
    expect(err.rawMessage).toContain("987654");
  });

  it.each([0n, -3n, 2n ** 60n])("refuses id %s with INVALID_ARGUMENT on field id", async (id) => {
    await expectInvalidField(get(id), "id");
  });
});

describe("ListAggregates", () => {
  it("filters by availability zone", async () => {
    const a1 = await create("list", "az-list-a");
    const b1 = await create("list", "az-list-b");
    const a2 = await create("list", "az-list-a");
    const none = await create("list");
    const inA = await h.aggregates.listAggregates({ availabilityZone: "az-list-a" });
    expect(inA.aggregates.map((a) => a.id)).toEqual([a1.id, a2.id]);
    expect(inA.nextPageToken).toBe("");
    const inB = await h.aggregates.listAggregates({ availabilityZone: "az-list-b" });
    expect(inB.aggregates.map((a) => a.name)).toEqual([b1.name]);
    const all = await h.aggregates.listAggregates({ pageSize: 1000 });
    const ids = all.aggregates.map((a) => a.id);
    expect(ids).toEqual(expect.arrayContaining([a1.id, a2.id, b1.id, none.id]));
    expect(ids).toEqual([...ids].sort((x, y) => (x < y ? -1 : 1)));
    expect((await h.aggregates.listAggregates({ availabilityZone: "az-nobody" })).aggregates).toEqual([]);
  });

  it("returns full aggregates (metadata included) in lists", async () => {
    const a = await create("list-full", "az-list-full");
    await h.aggregates.setAggregateMetadata({ id: a.id, metadata: { k: "v" } });
    const listed = await h.aggregates.listAggregates({ availabilityZone: "az-list-full" });
    expect(listed.aggregates).toHaveLength(1);
    expect(listed.aggregates[0]).toEqual(await get(a.id));
  });

  it("walks 5 aggregates in pages of 2 with next_page_token", async () => {
    const created: bigint[] = [];
    for (let i = 0; i < 5; i++) created.push((await create("page", "az-page")).id);
    const seen: bigint[] = [];
    const sizes: number[] = [];
    let token = "";
    for (let pages = 0; pages < 10; pages++) {
      const page = await h.aggregates.listAggregates({ availabilityZone: "az-page", pageSize: 2, pageToken: token });
      sizes.push(page.aggregates.length);
      seen.push(...page.aggregates.map((a) => a.id));
      token = page.nextPageToken;
      if (token === "") break;
    }
    expect(sizes).toEqual([2, 2, 1]);
    expect(seen).toEqual(created);
  });

  it("refuses a page token reused with a different filter", async () => {
    for (let i = 0; i < 3; i++) await create("token", "az-token");
    const first = await h.aggregates.listAggregates({ availabilityZone: "az-token", pageSize: 1 });
    expect(first.nextPageToken).not.toBe("");
    await expectInvalidField(
      h.aggregates.listAggregates({ availabilityZone: "az-other", pageSize: 1, pageToken: first.nextPageToken }),
      "page_token",
    );
    await expectInvalidField(h.aggregates.listAggregates({ pageSize: 1, pageToken: first.nextPageToken }), "page_token");
    // The same token with the same filter still works.
    const second = await h.aggregates.listAggregates({ availabilityZone: "az-token", pageSize: 1, pageToken: first.nextPageToken });
    expect(second.aggregates).toHaveLength(1);
    expect(second.aggregates[0]!.id).toBeGreaterThan(first.aggregates[0]!.id);
  });

  it("refuses a malformed page token", async () => {
    await expectInvalidField(h.aggregates.listAggregates({ pageToken: "not-a-token" }), "page_token");
  });

  it.each([-1, 1001])("refuses page_size %s with INVALID_ARGUMENT", async (pageSize) => {
    await expectInvalidField(h.aggregates.listAggregates({ pageSize }), "page_size");
  });

  it("refuses an invalid availability zone filter", async () => {
    await expectInvalidField(h.aggregates.listAggregates({ availabilityZone: "a:b" }), "availability_zone");
  });
});

describe("UpdateAggregate", () => {
  it("renames, moves to another zone, and advances updated_at", async () => {
    const a = await create("upd", "az-u1");
    await clockPast(updatedMs(a));
    const renamed = await h.aggregates.updateAggregate({ id: a.id, name: `${a.name}-renamed` });
    expect(renamed.name).toBe(`${a.name}-renamed`);
    expect(renamed.availabilityZone).toBe("az-u1");
    expect(updatedMs(renamed)).toBeGreaterThan(updatedMs(a));
    expect(timestampMs(renamed.createdAt!)).toBe(timestampMs(a.createdAt!));

    await clockPast(updatedMs(renamed));
    const moved = await h.aggregates.updateAggregate({ id: a.id, availabilityZone: "az-u2" });
    expect(moved.availabilityZone).toBe("az-u2");
    expect(moved.name).toBe(`${a.name}-renamed`);
    expect(updatedMs(moved)).toBeGreaterThan(updatedMs(renamed));

    const both = await h.aggregates.updateAggregate({ id: a.id, name: `${a.name}-both`, availabilityZone: "az-u3" });
    expect(both).toMatchObject({ name: `${a.name}-both`, availabilityZone: "az-u3" });
    expect(await get(a.id)).toEqual(both);
    expect((await h.aggregates.listAggregates({ availabilityZone: "az-u1" })).aggregates.map((x) => x.id)).not.toContain(a.id);
  });

  it("keeps the metadata when the zone changes", async () => {
    const a = await create("upd-meta", "az-m1");
    await h.aggregates.setAggregateMetadata({ id: a.id, metadata: { keep: "me", also: "this" } });
    const moved = await h.aggregates.updateAggregate({ id: a.id, availabilityZone: "az-m2" });
    expect(moved.metadata).toEqual({ keep: "me", also: "this" });
  });

  it("accepts renaming an aggregate to its own name", async () => {
    const a = await create("same");
    await expect(h.aggregates.updateAggregate({ id: a.id, name: a.name })).resolves.toMatchObject({ name: a.name });
  });

  it("refuses a name another aggregate has with ALREADY_EXISTS", async () => {
    const a = await create("upd-dup");
    const b = await create("upd-dup");
    await expectRpcError(h.aggregates.updateAggregate({ id: b.id, name: a.name }), Code.AlreadyExists);
    expect((await get(b.id)).name).toBe(b.name);
  });

  it("refuses an update that sets neither name nor zone", async () => {
    const a = await create("upd-empty");
    await expectRpcError(h.aggregates.updateAggregate({ id: a.id }), Code.InvalidArgument);
  });

  it("refuses an invalid name or zone", async () => {
    const a = await create("upd-bad", "az-keep");
    await expectInvalidField(h.aggregates.updateAggregate({ id: a.id, name: " padded" }), "name");
    await expectInvalidField(h.aggregates.updateAggregate({ id: a.id, name: "" }), "name");
    await expectInvalidField(h.aggregates.updateAggregate({ id: a.id, availabilityZone: "" }), "availability_zone");
    await expectInvalidField(h.aggregates.updateAggregate({ id: a.id, availabilityZone: "x:y" }), "availability_zone");
    expect(await get(a.id)).toEqual(a);
  });

  it("rename + bad zone changes nothing (no half-applied update)", async () => {
    const a = await create("atomic", "az-atomic");
    await clockPast(updatedMs(a));
    await expectInvalidField(h.aggregates.updateAggregate({ id: a.id, name: `${a.name}-new`, availabilityZone: "bad:zone" }), "availability_zone");
    const after = await get(a.id);
    expect(after.name).toBe(a.name);
    expect(after.availabilityZone).toBe("az-atomic");
    expect(updatedMs(after)).toBe(updatedMs(a));
    // The new name was not taken either.
    await expect(h.aggregates.createAggregate({ name: `${a.name}-new` })).resolves.toBeDefined();
  });

  it("rename + zone its hosts conflict with changes nothing (FAILED_PRECONDITION)", async () => {
    const a = await create("atomic-hosts", "az-h");
    const host = name("atomic-host");
    await h.registry.registerHost(hostRegistration(host, { availabilityZoneHint: "az-h" }));
    await putHostInAggregate(h, host, a.id);
    const before = await get(a.id);
    await clockPast(updatedMs(before));
    const err = await expectRpcError(
      h.aggregates.updateAggregate({ id: a.id, name: `${a.name}-new`, availabilityZone: "az-elsewhere" }),
      Code.FailedPrecondition,
    );
    expect(err.rawMessage).toContain(host);
    const after = await get(a.id);
    expect(after.name).toBe(a.name);
    expect(after.availabilityZone).toBe("az-h");
    expect(updatedMs(after)).toBe(updatedMs(before));
  });

  it("returns NOT_FOUND for an unknown id and INVALID_ARGUMENT for id 0", async () => {
    await expectRpcError(h.aggregates.updateAggregate({ id: 876_543n, name: name("ghost") }), Code.NotFound);
    await expectInvalidField(h.aggregates.updateAggregate({ id: 0n, name: name("ghost") }), "id");
  });
});

describe("StartRollingMaintenance validation", () => {
  it("refuses more hosts than any pool has, and a host listed twice, before reading anything", async () => {
    const a = await create("rolling-bounds");
    const many = Array.from({ length: 1001 }, (_, i) => `h${i}`);
    const err = await expectInvalidField(h.aggregates.startRollingMaintenance({ aggregateId: a.id, action: RollingAction.REBOOT, hosts: many }), "hosts");
    expect(err.rawMessage).toBe("hosts: at most 1000 hosts (got 1001)");
    const twice = await expectInvalidField(h.aggregates.startRollingMaintenance({ aggregateId: a.id, action: RollingAction.REBOOT, hosts: ["x1", "x2", "x1"] }), "hosts");
    expect(twice.rawMessage).toContain('host "x1" is listed twice');
  });
});

describe("SetAggregateMetadata", () => {
  it("sets keys, removes keys, and advances updated_at each time", async () => {
    const a = await create("meta");
    await clockPast(updatedMs(a));
    const set = await h.aggregates.setAggregateMetadata({ id: a.id, metadata: { a: "1", b: "2", "x-y_z:w. v": "ok", empty: "" } });
    expect(set.metadata).toEqual({ a: "1", b: "2", "x-y_z:w. v": "ok", empty: "" });
    expect(updatedMs(set)).toBeGreaterThan(updatedMs(a));

    await clockPast(updatedMs(set));
    const changed = await h.aggregates.setAggregateMetadata({ id: a.id, metadata: { a: "one", c: "3" }, removeKeys: ["b"] });
    expect(changed.metadata).toEqual({ a: "one", c: "3", "x-y_z:w. v": "ok", empty: "" });
    expect(updatedMs(changed)).toBeGreaterThan(updatedMs(set));
    expect((await get(a.id)).metadata).toEqual(changed.metadata);
  });

  it("answers many or long violations with a bounded INVALID_ARGUMENT (an unbounded one was too large for the trailers: the call hung, its connection stopped answering)", async () => {
    const a = await create("meta-many-bad");
    const many = await expectRpcError(h.aggregates.setAggregateMetadata({ id: a.id, removeKeys: Array.from({ length: 1000 }, () => "!") }, { timeoutMs: 10_000 }), Code.InvalidArgument);
    expect(violatedFields(many)).toHaveLength(21);
    expect(many.rawMessage).toMatch(/; request: 980 more violations not listed$/);
    const long = await expectRpcError(h.aggregates.setAggregateMetadata({ id: a.id, metadata: { ["!".repeat(100_000)]: "v" } }, { timeoutMs: 10_000 }), Code.InvalidArgument);
    expect(long.rawMessage.length).toBeLessThan(1000);
    // The same connection still answers.
    expect((await get(a.id)).id).toBe(a.id);
  });

  it("treats removing an absent key as a no-op", async () => {
    const a = await create("meta-absent");
    await h.aggregates.setAggregateMetadata({ id: a.id, metadata: { kept: "yes" } });
    const after = await h.aggregates.setAggregateMetadata({ id: a.id, removeKeys: ["never-set"] });
    expect(after.metadata).toEqual({ kept: "yes" });
  });

  it("refuses a key differing only in case from an existing key, writing nothing", async () => {
    const a = await create("meta-case");
    const before = await h.aggregates.setAggregateMetadata({ id: a.id, metadata: { abc: "lower" } });
    const err = await expectRpcError(
      h.aggregates.setAggregateMetadata({ id: a.id, metadata: { ABC: "upper", other: "x" } }),
      Code.AlreadyExists,
    );
    expect(err.rawMessage).toContain("abc");
    const after = await get(a.id);
    expect(after.metadata).toEqual({ abc: "lower" });
    expect(updatedMs(after)).toBe(updatedMs(before));
    // Replacing it explicitly (remove + set in one call) is allowed.
    const replaced = await h.aggregates.setAggregateMetadata({ id: a.id, metadata: { ABC: "upper" }, removeKeys: ["abc"] });
    expect(replaced.metadata).toEqual({ ABC: "upper" });
  });

  it("refuses two keys in one request that differ only in case", async () => {
    const a = await create("meta-case2");
    await expectRpcError(h.aggregates.setAggregateMetadata({ id: a.id, metadata: { Key: "1", key: "2" } }), Code.InvalidArgument);
    expect((await get(a.id)).metadata).toEqual({});
  });

  it.each([
    ["a '/'", "bad/key"],
    ["no characters", ""],
    ["256 characters", "k".repeat(256)],
    ["a non-ASCII letter", "clé"],
  ])("refuses a key with %s: INVALID_ARGUMENT", async (_what, bad) => {
    const a = await create("meta-badkey");
    const err = await expectRpcError(h.aggregates.setAggregateMetadata({ id: a.id, metadata: { [bad]: "v", good: "v" } }), Code.InvalidArgument);
    expect(violatedFields(err)).toEqual([`metadata[${JSON.stringify(bad)}]`]);
    expect((await get(a.id)).metadata).toEqual({});
  });

  it("accepts a 255-character key and value, refuses a 256-character value", async () => {
    const a = await create("meta-len");
    const key = "k".repeat(255);
    const ok = await h.aggregates.setAggregateMetadata({ id: a.id, metadata: { [key]: "v".repeat(255) } });
    expect(ok.metadata[key]).toBe("v".repeat(255));
    await expectInvalidField(h.aggregates.setAggregateMetadata({ id: a.id, metadata: { long: "v".repeat(256) } }), 'metadata["long"]');
    expect(Object.keys((await get(a.id)).metadata)).toEqual([key]);
  });

  it.each(["availability_zone", "Availability_Zone"])("refuses the reserved key %s", async (reserved) => {
    const a = await create("meta-reserved", "az-r");
    await expectRpcError(h.aggregates.setAggregateMetadata({ id: a.id, metadata: { [reserved]: "az-x" } }), Code.InvalidArgument);
    await expectRpcError(h.aggregates.setAggregateMetadata({ id: a.id, removeKeys: [reserved] }), Code.InvalidArgument);
    const after = await get(a.id);
    expect(after.availabilityZone).toBe("az-r");
    expect(after.metadata).toEqual({});
  });

  it("refuses a request that neither sets nor removes anything", async () => {
    const a = await create("meta-nothing");
    await expectRpcError(h.aggregates.setAggregateMetadata({ id: a.id }), Code.InvalidArgument);
  });

  it("refuses a key that is both set and removed", async () => {
    const a = await create("meta-both");
    await expectRpcError(h.aggregates.setAggregateMetadata({ id: a.id, metadata: { k: "v" }, removeKeys: ["k"] }), Code.InvalidArgument);
  });

  it("returns NOT_FOUND for an unknown aggregate", async () => {
    await expectRpcError(h.aggregates.setAggregateMetadata({ id: 765_432n, metadata: { k: "v" } }), Code.NotFound);
  });
});

describe("DeleteAggregate", () => {
  it("deletes, then answers NOT_FOUND, and frees the name", async () => {
    const a = await create("del");
    await h.aggregates.setAggregateMetadata({ id: a.id, metadata: { k: "v" } });
    await h.aggregates.deleteAggregate({ id: a.id });
    await expectRpcError(get(a.id), Code.NotFound);
    await expectRpcError(h.aggregates.deleteAggregate({ id: a.id }), Code.NotFound);
    const again = await h.aggregates.createAggregate({ name: a.name });
    expect(again.id).not.toBe(a.id);
    expect(again.metadata).toEqual({});
  });

  it("refuses to delete an aggregate that has hosts (FAILED_PRECONDITION)", async () => {
    const a = await create("del-hosts");
    const host = name("del-host");
    await h.registry.registerHost(hostRegistration(host));
    await putHostInAggregate(h, host, a.id);
    const err = await expectRpcError(h.aggregates.deleteAggregate({ id: a.id }), Code.FailedPrecondition);
    expect(err.rawMessage).toContain(host);
    const still = await get(a.id);
    expect(still.hosts).toEqual([host]);
  });

  it("refuses id 0 with INVALID_ARGUMENT", async () => {
    await expectInvalidField(h.aggregates.deleteAggregate({ id: 0n }), "id");
  });
});

describe("AddHost / RemoveHost validation", () => {
  it("returns NOT_FOUND for an unknown aggregate or an unregistered host", async () => {
    const host = name("add-known");
    await h.registry.registerHost(hostRegistration(host));
    const a = await create("add");
    await expectRpcError(h.aggregates.addHost({ aggregateId: 654_321n, host }), Code.NotFound);
    const err = await expectRpcError(h.aggregates.addHost({ aggregateId: a.id, host: "never-registered" }), Code.NotFound);
    expect(err.rawMessage).toContain("never-registered");
    await expectRpcError(h.aggregates.removeHost({ aggregateId: 654_321n, host }), Code.NotFound);
    await expectRpcError(h.aggregates.removeHost({ aggregateId: a.id, host: "never-registered" }), Code.NotFound);
  });

  it("refuses a host that is already in an aggregate with ALREADY_EXISTS", async () => {
    const host = name("add-taken");
    await h.registry.registerHost(hostRegistration(host));
    const first = await create("add-first");
    const second = await create("add-second");
    await putHostInAggregate(h, host, first.id);
    await expectRpcError(h.aggregates.addHost({ aggregateId: second.id, host }), Code.AlreadyExists);
    await expectRpcError(h.aggregates.addHost({ aggregateId: first.id, host }), Code.AlreadyExists);
  });

  it("refuses a host whose zone hint conflicts with the aggregate's zone (FAILED_PRECONDITION)", async () => {
    const host = name("add-az");
    await h.registry.registerHost(hostRegistration(host, { availabilityZoneHint: "az-x" }));
    const a = await create("add-az", "az-y");
    const err = await expectRpcError(h.aggregates.addHost({ aggregateId: a.id, host }), Code.FailedPrecondition);
    expect(err.rawMessage).toContain("az-x");
    expect(err.rawMessage).toContain("az-y");
  });

  it("refuses a malformed host name or aggregate id with INVALID_ARGUMENT", async () => {
    const a = await create("add-bad");
    await expectInvalidField(h.aggregates.addHost({ aggregateId: a.id, host: "bad:host" }), "host");
    await expectInvalidField(h.aggregates.addHost({ aggregateId: a.id, host: "" }), "host");
    await expectInvalidField(h.aggregates.addHost({ aggregateId: a.id, host: "h".repeat(256) }), "host");
    await expectInvalidField(h.aggregates.addHost({ aggregateId: 0n, host: "ok-name" }), "aggregate_id");
    await expectInvalidField(h.aggregates.removeHost({ aggregateId: a.id, host: "bad:host" }), "host");
    await expectInvalidField(h.aggregates.removeHost({ aggregateId: 0n, host: "ok-name" }), "aggregate_id");
  });

  it("RemoveHost of a host that is not in the aggregate is NOT_FOUND", async () => {
    const host = name("rm-elsewhere");
    await h.registry.registerHost(hostRegistration(host));
    const a = await create("rm");
    await expectRpcError(h.aggregates.removeHost({ aggregateId: a.id, host }), Code.NotFound);
    const other = await create("rm-other");
    await putHostInAggregate(h, host, other.id);
    await expectRpcError(h.aggregates.removeHost({ aggregateId: a.id, host }), Code.NotFound);
  });

  // What a valid AddHost does at once (README.md §How it works, first point). Running the operation is orchestration's
  // business: here the host's agent is unreachable, so the operation keeps retrying its first step.
  it("a valid AddHost returns the operation at once and records the intent (host JOINING, pool CHANGING)", async () => {
    const host = name("add-valid");
    const anyZone = name("add-valid");
    await h.registry.registerHost(hostRegistration(host, { availabilityZoneHint: "az-ok" }));
    await h.registry.registerHost(hostRegistration(anyZone));
    const a = await create("add-valid", "az-ok");
    const op = await h.aggregates.addHost({ aggregateId: a.id, host });
    expect(op).toMatchObject({ kind: OperationKind.ADD_HOST, aggregateId: a.id, host });
    expect(op.id).not.toBe("");
    expect([OperationState.PENDING, OperationState.RUNNING]).toContain(op.state);
    expect((await h.operations.getOperation({ id: op.id })).kind).toBe(OperationKind.ADD_HOST);

    const after = await get(a.id);
    expect(after.hosts).toEqual([host]);
    expect(after.members).toEqual([expect.objectContaining({ host, state: MembershipState.JOINING })]);
    expect(after.pool?.state).toBe(PoolState.CHANGING);
    expect((await h.hosts.getHost({ name: host })).aggregateId).toBe(a.id);
    // The host is taken now; the aggregate is not empty.
    await expectRpcError(h.aggregates.addHost({ aggregateId: a.id, host }), Code.AlreadyExists);
    await expectRpcError(h.aggregates.deleteAggregate({ id: a.id }), Code.FailedPrecondition);
    // A host without a zone hint fits an aggregate with a zone; it queues behind the first operation.
    const second = await h.aggregates.addHost({ aggregateId: a.id, host: anyZone });
    expect(second.id).not.toBe(op.id);
    expect((await get(a.id)).hosts).toEqual([host, anyZone]);
  });

  it("AddHost into an aggregate in ERROR is FAILED_PRECONDITION", async () => {
    const host = name("add-error");
    await h.registry.registerHost(hostRegistration(host));
    const a = await create("add-error");
    // Test setup only: mark the pool failed directly in the store.
    const { store } = h.controller.context;
    await store.transaction((tx) => tx.aggregates.setError(Number(a.id), testFailure(), new Date().toISOString()));
    await expectRpcError(h.aggregates.addHost({ aggregateId: a.id, host }), Code.FailedPrecondition);
    expect((await h.hosts.getHost({ name: host })).aggregateId).toBe(0n);
  });

  it("RemoveHost of a host that is still enabled is FAILED_PRECONDITION", async () => {
    const host = name("rm-enabled");
    await h.registry.registerHost(hostRegistration(host));
    const a = await create("rm-enabled");
    await putHostInAggregate(h, host, a.id, true);
    const err = await expectRpcError(h.aggregates.removeHost({ aggregateId: a.id, host }), Code.FailedPrecondition);
    expect(err.rawMessage).toMatch(/enabled/);
    expect((await get(a.id)).members).toEqual([expect.objectContaining({ host, state: MembershipState.MEMBER })]);
  });

  it("RemoveHost when the host's agent is unreachable is UNAVAILABLE and changes nothing", async () => {
    const host = name("rm-unreachable");
    await h.registry.registerHost(hostRegistration(host));
    const a = await create("rm-unreachable");
    await putHostInAggregate(h, host, a.id);
    const before = await get(a.id);
    await expectRpcError(h.aggregates.removeHost({ aggregateId: a.id, host }), Code.Unavailable);
    const after = await get(a.id);
    expect(after.members).toEqual([expect.objectContaining({ host, state: MembershipState.MEMBER })]);
    expect(after).toEqual(before);
  });
});
describe("RepairAggregate / RecoverMaster", () => {
  it("RepairAggregate validates the id, answers NOT_FOUND, and converges an empty aggregate's record", async () => {
    const a = await create("repair");
    await expectInvalidField(h.aggregates.repairAggregate({ id: 0n }), "id");
    await expectRpcError(h.aggregates.repairAggregate({ id: 543_210n }), Code.NotFound);
    // Test setup only: a failed pool record with no hosts.
    const { store } = h.controller.context;
    await store.transaction((tx) => tx.aggregates.setError(Number(a.id), testFailure(), new Date().toISOString()));
    const repaired = await h.aggregates.repairAggregate({ id: a.id });
    expect(repaired.pool?.state).toBe(PoolState.EMPTY);
    expect(repaired.pool?.lastError).toBeUndefined();
    expect(await get(a.id)).toEqual(repaired);
  });

  it("RepairAggregate is UNAVAILABLE when no member's agent answers, naming the unreachable agents in ErrorInfo", async () => {
    const host = name("repair-member");
    await h.registry.registerHost(hostRegistration(host));
    const a = await create("repair-member");
    await putHostInAggregate(h, host, a.id);
    const err = await expectRpcError(h.aggregates.repairAggregate({ id: a.id }), Code.Unavailable);
    expect(agentFailureOf(err)).toEqual({ reason: "AGENT_UNREACHABLE", hosts: [host] });
    expect((await get(a.id)).hosts).toEqual([host]);
  });

  it("RecoverMaster validates the id and new_master, answers NOT_FOUND, and FAILED_PRECONDITION without a failed master", async () => {
    const a = await create("recover");
    await expectInvalidField(h.aggregates.recoverMaster({ id: 0n }), "id");
    await expectRpcError(h.aggregates.recoverMaster({ id: 543_210n }), Code.NotFound);
    await expectInvalidField(h.aggregates.recoverMaster({ id: a.id, newMaster: "bad name!" }), "new_master");
    // An empty aggregate has no pool master, so nothing failed.
    const err = await expectRpcError(h.aggregates.recoverMaster({ id: a.id }), Code.FailedPrecondition);
    expect(err.rawMessage).toMatch(/no pool master/);
    const { operations } = await h.operations.listOperations({ aggregateId: a.id });
    expect(operations).toEqual([]);
    expect((await get(a.id)).pool?.state).toBe(PoolState.EMPTY);
  });
});
