/**
 * Every error row of Nova's status-code table (docs/os-aggregates.md §Errors and §Nova's own status
 * codes) that applies to our model answers Nova's status code and fault body; plus malformed bodies,
 * 405, 413 and 503.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostRegistration, putHostInAggregate, type TestController } from "../support/controller-harness.js";
import { registerHosts, rest, startFakeAgent, startRestController, type FakeAgent, type RestAnswer } from "./rest-harness.js";

let h: TestController;
let agent: FakeAgent;
beforeAll(async () => {
  h = await startRestController();
  agent = await startFakeAgent();
  await registerHosts(h, ["free-1", "free-2", "member-1", "member-2", "enabled-1"], agent.endpoint);
  await h.registry.registerHost(hostRegistration("hinted-x", { agentEndpoint: agent.endpoint, availabilityZoneHint: "zone-x" }));
  await h.registry.registerHost(hostRegistration("no-agent", { agentEndpoint: "127.0.0.1:1" }));
});
afterAll(async () => {
  await h?.close();
  await agent?.close();
});

const faultNames: Record<number, string> = { 400: "badRequest", 403: "forbidden", 404: "itemNotFound", 405: "badMethod", 409: "conflictingRequest", 413: "overLimit", 503: "serviceUnavailable" };

/** Asserts Nova's status and fault body `{"<name>": {"code": N, "message": "..."}}`; returns the message. */
function expectFault(res: RestAnswer, status: number, messagePart?: string): string {
  expect(res.status, res.text).toBe(status);
  const name = faultNames[status]!;
  expect(Object.keys(res.json ?? {}), res.text).toEqual([name]);
  expect(res.json[name].code).toBe(status);
  expect(res.json[name].message).toEqual(expect.any(String));
  expect(res.json[name].message.length).toBeGreaterThan(0);
  if (messagePart) expect(res.json[name].message).toContain(messagePart);
  return res.json[name].message as string;
}

let counter = 0;
/** A fresh aggregate (REST create) and its id. */
async function fresh(zone?: string): Promise<number> {
  const aggregate: Record<string, unknown> = { name: `err-${++counter}` };
  if (zone) aggregate.availability_zone = zone;
  const res = await rest(h, "POST", "/v2.1/os-aggregates", { body: { aggregate } });
  expect(res.status, res.text).toBe(200);
  return res.json.aggregate.id as number;
}

const post = (path: string, body: unknown) => rest(h, "POST", path, { body });
const action = (id: number | string, body: unknown) => post(`/v2.1/os-aggregates/${id}/action`, body);

describe("create", () => {
  it("schema errors → 400", async () => {
    const long = "x".repeat(256);
    const bodies: unknown[] = [
      {},
      { aggregate: {} },
      { aggregate: { name: null } },
      { aggregate: { name: "" } },
      { aggregate: { name: " padded " } },
      { aggregate: { name: long } },
      { aggregate: { name: 42 } },
      { aggregate: { name: "ok", availability_zone: "bad:az" } },
      { aggregate: { name: "ok", availability_zone: "" } },
      { aggregate: { name: "ok", availability_zone: long } },
      { aggregate: { name: "ok", foo: "bar" } },
      { aggregate: { name: "ok" }, extra: 1 },
      { aggregate: "ok" },
      ["ok"],
    ];
    for (const body of bodies) expectFault(await post("/v2.1/os-aggregates", body), 400);
    const list = await rest(h, "GET", "/v2.1/os-aggregates");
    expect(list.json.aggregates.map((a: { name: string }) => a.name)).not.toContain("ok");
  });

  it("a name already used by a live aggregate → 409 conflict", async () => {
    const id = await fresh();
    const name = (await rest(h, "GET", `/v2.1/os-aggregates/${id}`)).json.aggregate.name as string;
    expectFault(await post("/v2.1/os-aggregates", { aggregate: { name } }), 409, "already exists");
  });
});

describe("show and delete", () => {
  it("unknown id → 404; non-integer id → 400", async () => {
    expectFault(await rest(h, "GET", "/v2.1/os-aggregates/987654"), 404, "not found");
    expectFault(await rest(h, "GET", "/v2.1/os-aggregates/abc"), 400);
    expectFault(await rest(h, "GET", "/v2.1/os-aggregates/1.5"), 400);
    expectFault(await rest(h, "DELETE", "/v2.1/os-aggregates/987654"), 404);
    expectFault(await rest(h, "DELETE", "/v2.1/os-aggregates/abc"), 400);
  });

  it("deleting an aggregate that has hosts → 400", async () => {
    const id = await fresh();
    await putHostInAggregate(h, "member-1", id);
    expectFault(await rest(h, "DELETE", `/v2.1/os-aggregates/${id}`), 400, "not empty");
  });
});

describe("update", () => {
  it("schema errors → 400", async () => {
    const id = await fresh();
    const bodies: unknown[] = [{}, { aggregate: {} }, { aggregate: { foo: "x" } }, { aggregate: { name: null } }, { aggregate: { name: "x".repeat(256) } },
      { aggregate: { availability_zone: "bad:az" } }, { aggregate: { availability_zone: null } }, { aggregate: { availability_zone: "" } }, { name: "x" }];
    for (const body of bodies) expectFault(await rest(h, "PUT", `/v2.1/os-aggregates/${id}`, { body }), 400);
    expectFault(await rest(h, "PUT", "/v2.1/os-aggregates/abc", { body: { aggregate: { name: "n" } } }), 400);
  });

  it("unknown aggregate → 404; renaming to an existing name → 409", async () => {
    expectFault(await rest(h, "PUT", "/v2.1/os-aggregates/987654", { body: { aggregate: { name: "n" } } }), 404);
    const a = await fresh();
    const b = await fresh();
    const nameOfB = (await rest(h, "GET", `/v2.1/os-aggregates/${b}`)).json.aggregate.name as string;
    expectFault(await rest(h, "PUT", `/v2.1/os-aggregates/${a}`, { body: { aggregate: { name: nameOfB } } }), 409);
  });

  it("moving an aggregate to a zone its hosts cannot be in → 400 (InvalidAggregateActionUpdate), by PUT or set_metadata", async () => {
    const id = await fresh("zone-x");
    await putHostInAggregate(h, "hinted-x", id);
    expectFault(await rest(h, "PUT", `/v2.1/os-aggregates/${id}`, { body: { aggregate: { availability_zone: "zone-y" } } }), 400, "hinted-x");
    expectFault(await action(id, { set_metadata: { metadata: { availability_zone: "zone-y" } } }), 400, "hinted-x");
  });
});

describe("add_host", () => {
  it("unknown aggregate → 404; unknown host (or a case-insensitive match) → 404", async () => {
    expectFault(await action(987654, { add_host: { host: "free-1" } }), 404);
    const id = await fresh();
    expectFault(await action(id, { add_host: { host: "no-such-host" } }), 404, "not registered");
    expectFault(await action(id, { add_host: { host: "FREE-1" } }), 404);
  });

  it("a host already in this aggregate, or in another one → 409", async () => {
    const id = await fresh();
    await putHostInAggregate(h, "member-2", id);
    expectFault(await action(id, { add_host: { host: "member-2" } }), 409, "already in aggregate");
    const other = await fresh();
    expectFault(await action(other, { add_host: { host: "member-2" } }), 409, "one aggregate only");
  });

  it("a host whose zone differs from the aggregate's → 409", async () => {
    await h.registry.registerHost(hostRegistration("hinted-x2", { agentEndpoint: agent.endpoint, availabilityZoneHint: "zone-x" }));
    const id = await fresh("zone-y");
    expectFault(await action(id, { add_host: { host: "hinted-x2" } }), 409, "zone-x");
  });

  it("malformed host bodies → 400", async () => {
    const id = await fresh();
    const bodies: unknown[] = [
      { add_host: {} },
      { add_host: { host: "free-1", extra: 1 } },
      { add_host: { host: ["free-1", "free-2"] } },
      { add_host: { host: 12 } },
      { add_host: { host: null } },
      { add_host: { host: "bad:host" } },
      { add_host: { host: "" } },
      { add_host: { host: "h".repeat(256) } },
      { add_host: "free-1" },
      { add_host: ["free-1"] },
    ];
    for (const body of bodies) expectFault(await action(id, body), 400);
    expectFault(await action("abc", { add_host: { host: "free-1" } }), 400);
    expect((await h.aggregates.getAggregate({ id: BigInt(id) })).hosts).toEqual([]);
  });
});

describe("remove_host", () => {
  it("unknown aggregate, host not in the aggregate, unknown host → 404", async () => {
    expectFault(await action(987654, { remove_host: { host: "free-1" } }), 404);
    const id = await fresh();
    expectFault(await action(id, { remove_host: { host: "free-2" } }), 404, "not in aggregate");
    expectFault(await action(id, { remove_host: { host: "no-such-host" } }), 404);
  });

  it("malformed bodies → 400", async () => {
    const id = await fresh();
    for (const body of [{ remove_host: {} }, { remove_host: { host: "free-1", x: 1 } }, { remove_host: { host: ["free-1"] } }, { remove_host: null }]) {
      expectFault(await action(id, body), 400);
    }
  });

  it("a host that is still enabled → 409 (our rule: disable it first); an unreachable agent → 503", async () => {
    const id = await fresh();
    await putHostInAggregate(h, "enabled-1", id, true);
    expectFault(await action(id, { remove_host: { host: "enabled-1" } }), 409, "disable it first");
    await putHostInAggregate(h, "no-agent", id);
    expectFault(await action(id, { remove_host: { host: "no-agent" } }), 503, "did not answer");
  });
});

describe("set_metadata", () => {
  it("unknown aggregate → 404", async () => {
    expectFault(await action(987654, { set_metadata: { metadata: { k: "v" } } }), 404);
  });

  it("missing or extra params, non-dict metadata, bad keys, long values, non-string values → 400", async () => {
    const id = await fresh();
    const bodies: unknown[] = [
      { set_metadata: {} },
      { set_metadata: { metadata: { k: "v" }, extra: 1 } },
      { set_metadata: { metadata: "k=v" } },
      { set_metadata: { metadata: ["k"] } },
      { set_metadata: { metadata: { "": "v" } } },
      { set_metadata: { metadata: { ["k".repeat(256)]: "v" } } },
      { set_metadata: { metadata: { "bad/key": "v" } } },
      { set_metadata: { metadata: { k: "v".repeat(256) } } },
      { set_metadata: { metadata: { k: 1 } } },
      { set_metadata: { metadata: { k: { nested: "v" } } } },
    ];
    for (const body of bodies) expectFault(await action(id, body), 400);
    expect((await h.aggregates.getAggregate({ id: BigInt(id) })).metadata).toEqual({});
  });

  it("a key differing only in case from an existing key → 400 (AggregateMetadataKeyExists)", async () => {
    const id = await fresh();
    expect((await action(id, { set_metadata: { metadata: { abc: "1" } } })).status).toBe(200);
    expectFault(await action(id, { set_metadata: { metadata: { ABC: "2" } } }), 400, "case-insensitive");
  });
});

describe("actions and request bodies", () => {
  it("unknown action → 400 naming it; empty body, several actions, or malformed JSON → 400", async () => {
    const id = await fresh();
    expectFault(await action(id, { reboot: {} }), 400, "There is no such action: reboot");
    expectFault(await action(id, {}), 400);
    expectFault(await action(id, { add_host: { host: "free-1" }, set_metadata: { metadata: {} } }), 400, "one action");
    expectFault(await rest(h, "POST", `/v2.1/os-aggregates/${id}/action`, { rawBody: "{not json" }), 400, "Malformed request body");
    expectFault(await rest(h, "POST", `/v2.1/os-aggregates/${id}/action`, { rawBody: "" }), 400, "Malformed request body");
  });

  it("a method the resource does not have → 405 with Allow", async () => {
    const res = await rest(h, "PATCH", "/v2.1/os-aggregates/1", { body: { aggregate: { name: "x" } } });
    expectFault(res, 405);
    expect(res.headers.get("allow")).toBe("GET, PUT, DELETE");
    expectFault(await rest(h, "GET", "/v2.1/os-aggregates/1/action"), 405);
  });

  it("a body over 1 MiB → 413 overLimit, and nothing is created", async () => {
    const name = "big-" + "x".repeat(1024 * 1024);
    expectFault(await post("/v2.1/os-aggregates", { aggregate: { name } }), 413);
    // Also when the size is not declared up front (chunked).
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
        for (let i = 0; i < 20; i++) controller.enqueue(chunk);
        controller.close();
      },
    });
    const res = await fetch(`${h.httpUrl}/v2.1/os-aggregates`, {
      method: "POST",
      headers: { "x-auth-token": h.adminToken, "content-type": "application/json" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ overLimit: { code: 413, message: expect.any(String) } });
  });
});
