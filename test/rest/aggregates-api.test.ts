/**
 * os-aggregates REST API over the domain layer: Nova's body shapes and status codes for list,
 * create, show, update, delete and the actions, on every path prefix; the seed's v1.1 examples
 * verbatim; add_host/remove_host answered once the operation is accepted.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OperationKind, OperationState } from "../../gen/hostaggregates/v1/operation_pb.js";
import { putHostInAggregate, type TestController } from "../support/controller-harness.js";
import { registerHosts, rest, startFakeAgent, startRestController, type FakeAgent } from "./rest-harness.js";

let h: TestController;
let agent: FakeAgent;
beforeAll(async () => {
  h = await startRestController();
  agent = await startFakeAgent();
  await registerHosts(h, ["cmp-1", "cmp-2", "cmp-3", "cmp-4", "seed-host-a", "seed-host-b"], agent.endpoint);
});
afterAll(async () => {
  await h?.close();
  await agent?.close();
});

const novaTime = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/;

/** Creates an aggregate over REST and returns its id. */
async function create(name: string, availabilityZone?: string | null): Promise<number> {
  const aggregate: Record<string, unknown> = { name };
  if (availabilityZone !== undefined) aggregate.availability_zone = availabilityZone;
  const res = await rest(h, "POST", "/v2.1/os-aggregates", { body: { aggregate } });
  expect(res.status, res.text).toBe(200);
  return res.json.aggregate.id as number;
}

describe("create, show, list", () => {
  it("create answers 200 with Nova's body: no hosts/metadata, deleted false, zone-less timestamps, updated_at null", async () => {
    const res = await rest(h, "POST", "/v2.1/os-aggregates", { body: { aggregate: { name: "shape-1", availability_zone: "london" } } });
    expect(res.status).toBe(200);
    const a = res.json.aggregate;
    expect(Object.keys(a).sort()).toEqual(["availability_zone", "created_at", "deleted", "deleted_at", "id", "name", "updated_at"]);
    expect(a).toMatchObject({ name: "shape-1", availability_zone: "london", deleted: false, deleted_at: null, updated_at: null });
    expect(a.id).toEqual(expect.any(Number));
    expect(a.created_at).toMatch(novaTime);
  });

  it("create without a zone, or with a null zone, has availability_zone null and no zone in metadata", async () => {
    for (const [name, zone] of [["no-zone-1", undefined], ["no-zone-2", null]] as const) {
      const id = await create(name, zone);
      const shown = await rest(h, "GET", `/v2.1/os-aggregates/${id}`);
      expect(shown.json.aggregate).toMatchObject({ availability_zone: null, hosts: [], metadata: {} });
    }
  });

  it("an all-digit name is accepted on create and update, as in Nova (the gRPC API shares the rule)", async () => {
    const id = await create("2024");
    expect((await rest(h, "GET", `/v2.1/os-aggregates/${id}`)).json.aggregate.name).toBe("2024");
    const renamed = await rest(h, "PUT", `/v2.1/os-aggregates/${id}`, { body: { aggregate: { name: "31337" } } });
    expect(renamed.status, renamed.text).toBe(200);
    expect(renamed.json.aggregate.name).toBe("31337");
    expect((await h.aggregates.getAggregate({ id: BigInt(id) })).name).toBe("31337");
  });

  it("show carries hosts and metadata, and the zone both at top level and inside metadata", async () => {
    const id = await create("show-1", "paris");
    const res = await rest(h, "GET", `/v2.1/os-aggregates/${id}`);
    expect(res.status).toBe(200);
    expect(Object.keys(res.json.aggregate).sort()).toEqual(
      ["availability_zone", "created_at", "deleted", "deleted_at", "hosts", "id", "metadata", "name", "updated_at"],
    );
    expect(res.json.aggregate).toMatchObject({ id, name: "show-1", availability_zone: "paris", hosts: [], metadata: { availability_zone: "paris" } });
  });

  it("list returns every aggregate with hosts and metadata; ?availability_zone= filters", async () => {
    const a = await create("list-a", "zone-l1");
    const b = await create("list-b", "zone-l2");
    const res = await rest(h, "GET", "/v2.1/os-aggregates");
    expect(res.status).toBe(200);
    const ids = res.json.aggregates.map((x: { id: number }) => x.id);
    expect(ids).toEqual(expect.arrayContaining([a, b]));
    for (const x of res.json.aggregates) expect(x).toMatchObject({ hosts: expect.any(Array), metadata: expect.any(Object), deleted: false });
    const filtered = await rest(h, "GET", "/v2.1/os-aggregates?availability_zone=zone-l2");
    expect(filtered.json.aggregates.map((x: { id: number }) => x.id)).toEqual([b]);
  });

  it("/v1.1/{tenant}, /v2.1 and /v2.1/{tenant} address the same aggregates", async () => {
    const id = await create("prefixes-1");
    for (const prefix of ["/v1.1/abc123", "/v2.1", "/v2.1/abc123"]) {
      const res = await rest(h, "GET", `${prefix}/os-aggregates/${id}`);
      expect(res.status, prefix).toBe(200);
      expect(res.json.aggregate.name).toBe("prefixes-1");
    }
  });
});

describe("update and delete", () => {
  it("PUT renames and re-zones, keeps other metadata, and sets updated_at", async () => {
    const id = await create("upd-1", "az-u1");
    await rest(h, "POST", `/v2.1/os-aggregates/${id}/action`, { body: { set_metadata: { metadata: { keep: "me" } } } });
    const res = await rest(h, "PUT", `/v2.1/os-aggregates/${id}`, { body: { aggregate: { name: "upd-1b", availability_zone: "az-u2" } } });
    expect(res.status).toBe(200);
    expect(res.json.aggregate).toMatchObject({ name: "upd-1b", availability_zone: "az-u2", metadata: { keep: "me", availability_zone: "az-u2" } });
    expect(res.json.aggregate.updated_at).toMatch(novaTime);
    const grpc = await h.aggregates.getAggregate({ id: BigInt(id) });
    expect([grpc.name, grpc.availabilityZone]).toEqual(["upd-1b", "az-u2"]);
  });

  it("DELETE answers 200 with an empty body; then show is 404 and the name can be reused", async () => {
    const id = await create("del-1");
    const res = await rest(h, "DELETE", `/v2.1/os-aggregates/${id}`);
    expect(res.status).toBe(200);
    expect(res.text).toBe("");
    expect((await rest(h, "GET", `/v2.1/os-aggregates/${id}`)).status).toBe(404);
    await create("del-1");
  });
});

describe("set_metadata", () => {
  it("upserts strings, deletes keys given null, and ignores null for absent keys", async () => {
    const id = await create("meta-1");
    const path = `/v2.1/os-aggregates/${id}/action`;
    let res = await rest(h, "POST", path, { body: { set_metadata: { metadata: { a: "1", b: "2" } } } });
    expect(res.status).toBe(200);
    expect(res.json.aggregate.metadata).toEqual({ a: "1", b: "2" });
    res = await rest(h, "POST", path, { body: { set_metadata: { metadata: { a: null, b: "3", never: null } } } });
    expect(res.status).toBe(200);
    expect(res.json.aggregate.metadata).toEqual({ b: "3" });
    expect(res.json.aggregate.updated_at).toMatch(novaTime);
    res = await rest(h, "POST", path, { body: { set_metadata: { metadata: {} } } });
    expect([res.status, res.json.aggregate.metadata]).toEqual([200, { b: "3" }]);
  });

  it("availability_zone in metadata is the aggregate's zone (UpdateAggregate's rules); null or \"\" is 400", async () => {
    const id = await create("meta-az", "az-m1");
    const path = `/v2.1/os-aggregates/${id}/action`;
    const res = await rest(h, "POST", path, { body: { set_metadata: { metadata: { availability_zone: "az-m2", x: "y" } } } });
    expect(res.status).toBe(200);
    expect(res.json.aggregate).toMatchObject({ availability_zone: "az-m2", metadata: { availability_zone: "az-m2", x: "y" } });
    expect((await h.aggregates.getAggregate({ id: BigInt(id) })).availabilityZone).toBe("az-m2");
    for (const zone of [null, ""]) {
      const bad = await rest(h, "POST", path, { body: { set_metadata: { metadata: { availability_zone: zone } } } });
      expect(bad.status, String(zone)).toBe(400);
      expect(bad.json.badRequest.message).toContain("availability zone must not be empty");
    }
  });

  it("a zone change and a bad key in one request change nothing (one transaction)", async () => {
    const id = await create("meta-atomic", "az-a1");
    const res = await rest(h, "POST", `/v2.1/os-aggregates/${id}/action`, {
      body: { set_metadata: { metadata: { availability_zone: "az-a2", "bad/key": "v" } } },
    });
    expect(res.status).toBe(400);
    const after = await h.aggregates.getAggregate({ id: BigInt(id) });
    expect([after.availabilityZone, after.metadata]).toEqual(["az-a1", {}]);
  });
});

describe("add_host and remove_host answer once the operation is accepted", () => {
  it("add_host: 200 with the aggregate listing the host, and the operation id in X-Operation-Id", async () => {
    const id = await create("hosts-add", "az1");
    const res = await rest(h, "POST", `/v2.1/os-aggregates/${id}/action`, { body: { add_host: { host: "cmp-1" } } });
    expect(res.status, res.text).toBe(200);
    expect(res.json.aggregate).toMatchObject({ id, hosts: ["cmp-1"] });
    const operationId = res.headers.get("x-operation-id");
    expect(operationId).toMatch(/^op-/);
    const op = await h.operations.getOperation({ id: operationId! });
    expect([op.kind, op.host, Number(op.aggregateId)]).toEqual([OperationKind.ADD_HOST, "cmp-1", id]);
  });

  it("remove_host: 200 with the aggregate no longer listing the (leaving) host", async () => {
    const id = await create("hosts-remove");
    await putHostInAggregate(h, "cmp-2", id);
    const res = await rest(h, "POST", `/v2.1/os-aggregates/${id}/action`, { body: { remove_host: { host: "cmp-2" } } });
    expect(res.status, res.text).toBe(200);
    expect(res.json.aggregate.hosts).toEqual([]);
    const op = await h.operations.getOperation({ id: res.headers.get("x-operation-id")! });
    expect([op.kind, op.host]).toEqual([OperationKind.REMOVE_HOST, "cmp-2"]);
    const grpc = await h.aggregates.getAggregate({ id: BigInt(id) });
    expect(grpc.members.map((m) => m.host), "the pool work is still under way").toEqual(["cmp-2"]);

    // The stand-in agent cannot eject: the operation fails, the aggregate goes to ERROR, and the host is listed again.
    const done = await h.operations.waitOperation({ id: op.id, timeout: { seconds: 20n } });
    expect(OperationState[done.state]).toBe("FAILED");
    const shown = await rest(h, "GET", `/v2.1/os-aggregates/${id}`);
    expect(shown.json.aggregate.hosts).toEqual(["cmp-2"]);
    const again = await rest(h, "POST", `/v2.1/os-aggregates/${id}/action`, { body: { remove_host: { host: "cmp-2" } } });
    expect(again.status).toBe(409);
    expect(again.json.conflictingRequest.message).toContain("is in ERROR");
  });
});

describe("the seed's examples, verbatim on the v1.1 paths", () => {
  const tenant = "d2a1b5a3c4e84d7a9c1f0e6b7a8c9d0e";

  it("GET /v1.1/{tenant}/extensions finds the extension", async () => {
    const res = await rest(h, "GET", `/v1.1/${tenant}/extensions`);
    expect(res.status).toBe(200);
    expect(res.json.extensions.map((e: { alias: string }) => e.alias)).toEqual(["os-aggregates"]);
  });

  it("add_host, remove_host and set_metadata posted to /v1.1/{tenant}/os-aggregates/{id}/action", async () => {
    const created = await rest(h, "POST", `/v1.1/${tenant}/os-aggregates`, { body: { aggregate: { name: "seed-pool", availability_zone: "nova" } } });
    expect(created.status).toBe(200);
    const id = created.json.aggregate.id as number;
    const action = `/v1.1/${tenant}/os-aggregates/${id}/action`;

    const added = await rest(h, "POST", action, { rawBody: '{"add_host": {"host": "seed-host-a"}}' });
    expect(added.status, added.text).toBe(200);
    expect(added.json.aggregate.hosts).toEqual(["seed-host-a"]);

    const other = await create("seed-pool-2");
    await putHostInAggregate(h, "seed-host-b", other);
    const removed = await rest(h, "POST", `/v1.1/${tenant}/os-aggregates/${other}/action`, { rawBody: '{"remove_host": {"host": "seed-host-b"}}' });
    expect(removed.status, removed.text).toBe(200);
    expect(removed.json.aggregate.hosts).toEqual([]);

    const meta = await rest(h, "POST", action, { rawBody: '{"set_metadata": {"metadata": {"key": "value"}}}' });
    expect(meta.status, meta.text).toBe(200);
    expect(meta.json.aggregate.metadata).toEqual({ availability_zone: "nova", key: "value" });
  });
});
