/**
 * os-aggregates REST API: the version documents clients negotiate with, microversion headers, the
 * extensions list (Essex's descriptor, verbatim), admin-token auth (401/403, tokens never logged),
 * and that the Connect/JSON API on the same port still answers.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenRegistry } from "../../shared/auth.js";
import { createLogger } from "../../shared/logging.js";
import { startTestController, type TestController } from "../support/controller-harness.js";
import { rest, startRestController } from "./rest-harness.js";

let h: TestController;
beforeAll(async () => {
  h = await startRestController();
});
afterAll(async () => {
  await h?.close();
});

const extension = {
  name: "Aggregates",
  alias: "os-aggregates",
  description: "Admin-only aggregate administration",
  namespace: "http://docs.openstack.org/compute/ext/aggregates/api/v1.1",
  updated: "2012-01-12T00:00:00+00:00",
  links: [],
};

describe("version documents", () => {
  it("GET / lists v2.1 (2.1–2.41) with a self link to this server, without a token", async () => {
    const res = await rest(h, "GET", "/", { token: null });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      versions: [
        {
          id: "v2.1",
          status: "CURRENT",
          version: "2.41",
          min_version: "2.1",
          updated: "2013-07-23T11:33:21Z",
          links: [{ rel: "self", href: `${h.httpUrl}/v2.1/` }],
        },
      ],
    });
  });

  it("GET /v2.1 and /v2.1/ answer the single version document with media types", async () => {
    for (const path of ["/v2.1", "/v2.1/"]) {
      const res = await rest(h, "GET", path, { token: null });
      expect(res.status, path).toBe(200);
      expect(res.json.version).toMatchObject({ id: "v2.1", status: "CURRENT", version: "2.41", min_version: "2.1" });
      expect(res.json.version.links[0]).toEqual({ rel: "self", href: `${h.httpUrl}/v2.1/` });
      expect(res.json.version["media-types"]).toEqual([{ base: "application/json", type: "application/vnd.openstack.compute+json;version=2.1" }]);
    }
  });

  it("version documents are GET only", async () => {
    const res = await rest(h, "POST", "/", { token: null, body: {} });
    expect(res.status).toBe(405);
    expect(res.json).toEqual({ badMethod: { code: 405, message: expect.any(String) } });
    expect(res.headers.get("allow")).toBe("GET");
  });
});

describe("microversions", () => {
  it("defaults to 2.1 and echoes it in both headers, with Vary", async () => {
    const res = await rest(h, "GET", "/v2.1/os-aggregates");
    expect(res.status).toBe(200);
    expect(res.headers.get("openstack-api-version")).toBe("compute 2.1");
    expect(res.headers.get("x-openstack-nova-api-version")).toBe("2.1");
    expect(res.headers.get("vary")).toBe("OpenStack-API-Version, X-OpenStack-Nova-API-Version");
    expect(res.headers.get("x-openstack-request-id")).toMatch(/^req-[0-9a-f-]{36}$/);
  });

  it("negotiates from OpenStack-API-Version, the legacy header, and 'latest'", async () => {
    const cases: [Record<string, string>, string][] = [
      [{ "OpenStack-API-Version": "compute 2.41" }, "2.41"],
      [{ "OpenStack-API-Version": "identity 3.0, compute 2.12" }, "2.12"],
      [{ "X-OpenStack-Nova-API-Version": "2.30" }, "2.30"],
      [{ "OpenStack-API-Version": "compute latest" }, "2.41"],
      [{ "OpenStack-API-Version": "compute 2.5", "X-OpenStack-Nova-API-Version": "2.40" }, "2.5"],
    ];
    for (const [headers, expected] of cases) {
      const res = await rest(h, "GET", "/v2.1/os-aggregates", { headers });
      expect(res.status, JSON.stringify(headers)).toBe(200);
      expect(res.headers.get("openstack-api-version")).toBe(`compute ${expected}`);
      expect(res.headers.get("x-openstack-nova-api-version")).toBe(expected);
    }
  });

  it("refuses versions out of range with 406 and malformed ones with 400, like Nova", async () => {
    const tooNew = await rest(h, "GET", "/v2.1/os-aggregates", { headers: { "OpenStack-API-Version": "compute 2.42" } });
    expect(tooNew.status).toBe(406);
    expect(tooNew.json).toEqual({ computeFault: { code: 406, message: "Version 2.42 is not supported by the API. Minimum is 2.1 and maximum is 2.41." } });
    const tooOld = await rest(h, "GET", "/v2.1/os-aggregates", { headers: { "X-OpenStack-Nova-API-Version": "2.0" } });
    expect(tooOld.status).toBe(406);
    const bad = await rest(h, "GET", "/v2.1/os-aggregates", { headers: { "OpenStack-API-Version": "compute 2.x" } });
    expect(bad.status).toBe(400);
    expect(bad.json.badRequest.message).toContain("is of invalid format");
  });

  it("bodies carry uuid from 2.41 only", async () => {
    const created = await rest(h, "POST", "/v2.1/os-aggregates", { body: { aggregate: { name: "mv-uuid" } } });
    const id = created.json.aggregate.id as number;
    const old = await rest(h, "GET", `/v2.1/os-aggregates/${id}`, { headers: { "OpenStack-API-Version": "compute 2.40" } });
    expect(old.json.aggregate).not.toHaveProperty("uuid");
    const current = await rest(h, "GET", `/v2.1/os-aggregates/${id}`, { headers: { "OpenStack-API-Version": "compute 2.41" } });
    const grpc = await h.aggregates.getAggregate({ id: BigInt(id) });
    expect(current.json.aggregate.uuid).toBe(grpc.uuid);
  });

  it("v1.1 (Essex) has no microversions: no version headers, base behaviour", async () => {
    const res = await rest(h, "GET", "/v1.1/tenant/os-aggregates", { headers: { "OpenStack-API-Version": "compute 2.41" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("openstack-api-version")).toBeNull();
    for (const a of res.json.aggregates) expect(a).not.toHaveProperty("uuid");
  });
});

describe("extensions (the seed's discovery query)", () => {
  it("GET /v1.1/{tenant}/extensions lists os-aggregates as Essex's contrib/aggregates.py describes it", async () => {
    const res = await rest(h, "GET", "/v1.1/8f2c7e/extensions");
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ extensions: [extension] });
  });

  it("answers under v2.1 with and without a tenant, and shows one extension by alias", async () => {
    for (const path of ["/v2.1/extensions", "/v2.1/8f2c7e/extensions"]) {
      expect((await rest(h, "GET", path)).json, path).toEqual({ extensions: [extension] });
    }
    for (const path of ["/v1.1/8f2c7e/extensions/os-aggregates", "/v2.1/extensions/os-aggregates"]) {
      expect((await rest(h, "GET", path)).json, path).toEqual({ extension });
    }
    const missing = await rest(h, "GET", "/v2.1/extensions/os-hosts");
    expect(missing.status).toBe(404);
    expect(missing.json.itemNotFound.code).toBe(404);
  });
});

describe("auth", () => {
  it("no token → 401 unauthorized with a challenge; unknown token → 401", async () => {
    for (const token of [null, "not-a-token"]) {
      const res = await rest(h, "GET", "/v2.1/os-aggregates", { token });
      expect(res.status).toBe(401);
      expect(res.json).toEqual({ unauthorized: { code: 401, message: expect.stringContaining("requires authentication") } });
      expect(res.headers.get("www-authenticate")).toBeTruthy();
      expect(res.text).not.toContain("not-a-token");
    }
  });

  it("an agent token → 403 forbidden, for reads and writes", async () => {
    const read = await rest(h, "GET", "/v1.1/t/os-aggregates", { token: h.agentToken });
    expect(read.status).toBe(403);
    expect(read.json.forbidden.code).toBe(403);
    const write = await rest(h, "POST", "/v2.1/os-aggregates", { token: h.agentToken, body: { aggregate: { name: "by-agent" } } });
    expect(write.status).toBe(403);
    expect((await h.aggregates.listAggregates({})).aggregates.map((a) => a.name)).not.toContain("by-agent");
  });

  it("accepts the admin token as Authorization: Bearer too", async () => {
    const res = await rest(h, "GET", "/v2.1/os-aggregates", { token: null, headers: { authorization: `Bearer ${h.adminToken}` } });
    expect(res.status).toBe(200);
  });

  it("unknown paths under our prefixes need a token first, then answer 404", async () => {
    expect((await rest(h, "GET", "/v2.1/servers", { token: null })).status).toBe(401);
    const res = await rest(h, "GET", "/v2.1/servers");
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ itemNotFound: { code: 404, message: "The resource could not be found." } });
  });

  it("never writes a token to the log, even at debug level", async () => {
    const lines: string[] = [];
    const adminToken = "admin-secret-4ab1";
    const agentToken = "agent-secret-9cd2";
    const logged = await startTestController({
      reconcileIntervalMs: 0,
      tokens: new TokenRegistry().add(adminToken, "admin").add(agentToken, "agent"),
      log: createLogger("controller", { level: "debug", sink: (l) => lines.push(l) }),
    });
    try {
      const base = { ...logged, adminToken };
      await rest(base, "POST", "/v2.1/os-aggregates", { body: { aggregate: { name: "logged" } } });
      await rest(base, "GET", "/v2.1/os-aggregates/999");
      await rest(base, "GET", "/v2.1/os-aggregates", { token: agentToken });
      await rest(base, "GET", "/v2.1/os-aggregates", { token: "wrong-secret-77ee" });
      await rest(base, "GET", "/v2.1/os-aggregates", { token: null, headers: { authorization: `Bearer ${adminToken}` } });
      expect(lines.some((l) => l.includes("os-aggregates request")), "requests are logged at debug").toBe(true);
      for (const secret of [adminToken, agentToken, "wrong-secret-77ee"]) {
        expect(lines.filter((l) => l.includes(secret))).toEqual([]);
      }
    } finally {
      await logged.close();
    }
  });
});

describe("the HTTP port is shared", () => {
  it("Connect/JSON still answers next to the REST API", async () => {
    const res = await fetch(`${h.httpUrl}/hostaggregates.v1.AggregateService/ListAggregates`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${h.adminToken}` },
      body: "{}",
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toHaveProperty("aggregates");
  });
});
