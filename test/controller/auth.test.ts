/**
 * Bearer-token authentication and roles on both protocols (gRPC and Connect/JSON), and loading
 * tokens from a file and from the environment (README.md §The API and §Configuration; the status codes:
 * docs/os-aggregates.md §Outcomes shared with the gRPC API).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentRegistryService } from "../../gen/hostaggregates/v1/agent_registry_pb.js";
import { AggregateService } from "../../gen/hostaggregates/v1/aggregate_pb.js";
import { HostService } from "../../gen/hostaggregates/v1/host_pb.js";
import { OperationService } from "../../gen/hostaggregates/v1/operation_pb.js";
import { TokenRegistry } from "../../shared/auth.js";
import { hostRegistration, startTestController, type TestController } from "../support/controller-harness.js";
import { expectRpcError } from "../support/rpc-errors.js";

let h: TestController;
let existingId: bigint;
beforeAll(async () => {
  h = await startTestController();
  existingId = (await h.aggregates.createAggregate({ name: "auth-target" })).id;
});
afterAll(async () => {
  await h?.close();
});

describe("gRPC", () => {
  it("accepts the admin token on AggregateService (control)", async () => {
    await expect(h.client(AggregateService, h.adminToken).getAggregate({ id: existingId })).resolves.toMatchObject({ name: "auth-target" });
  });

  it("answers UNAUTHENTICATED without a token", async () => {
    const err = await expectRpcError(h.client(AggregateService).getAggregate({ id: existingId }), Code.Unauthenticated);
    expect(err.rawMessage).toMatch(/authorization: Bearer/);
    await expectRpcError(h.client(AgentRegistryService).registerHost(hostRegistration("no-token")), Code.Unauthenticated);
  });

  it("answers UNAUTHENTICATED for a wrong token, whatever the service", async () => {
    await expectRpcError(h.client(AggregateService, "wrong-token").getAggregate({ id: existingId }), Code.Unauthenticated);
    await expectRpcError(h.client(HostService, "wrong-token").listHosts({}), Code.Unauthenticated);
    await expectRpcError(h.client(AgentRegistryService, "wrong-token").heartbeat({ name: "h" }), Code.Unauthenticated);
    // A prefix of a valid token is not the token.
    await expectRpcError(h.client(AggregateService, h.adminToken.slice(0, -1)).getAggregate({ id: existingId }), Code.Unauthenticated);
  });

  it("answers UNAUTHENTICATED before validating or touching anything", async () => {
    await expectRpcError(h.client(AggregateService).createAggregate({ name: "" }), Code.Unauthenticated);
    await expectRpcError(h.client(AggregateService, "wrong").createAggregate({ name: "auth-sneaky" }), Code.Unauthenticated);
    const all = await h.aggregates.listAggregates({});
    expect(all.aggregates.map((a) => a.name)).not.toContain("auth-sneaky");
  });

  it("answers PERMISSION_DENIED for the agent token on the admin services", async () => {
    const err = await expectRpcError(h.client(AggregateService, h.agentToken).getAggregate({ id: existingId }), Code.PermissionDenied);
    expect(err.rawMessage).toContain("agent");
    await expectRpcError(h.client(AggregateService, h.agentToken).createAggregate({ name: "auth-by-agent" }), Code.PermissionDenied);
    await expectRpcError(h.client(HostService, h.agentToken).listHosts({}), Code.PermissionDenied);
    await expectRpcError(h.client(OperationService, h.agentToken).listOperations({}), Code.PermissionDenied);
    const all = await h.aggregates.listAggregates({});
    expect(all.aggregates.map((a) => a.name)).not.toContain("auth-by-agent");
  });

  it("answers PERMISSION_DENIED for the admin token on AgentRegistryService", async () => {
    await expectRpcError(h.client(AgentRegistryService, h.adminToken).registerHost(hostRegistration("by-admin")), Code.PermissionDenied);
    await expectRpcError(h.client(AgentRegistryService, h.adminToken).heartbeat({ name: "by-admin" }), Code.PermissionDenied);
    await expectRpcError(h.hosts.getHost({ name: "by-admin" }), Code.NotFound);
    // The agent token may.
    await expect(h.registry.registerHost(hostRegistration("by-agent"))).resolves.toBeDefined();
  });
});

describe("Connect/JSON over HTTP", () => {
  const call = (path: string, body: unknown, authorization?: string) =>
    fetch(`${h.httpUrl}/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
      body: JSON.stringify(body),
    });
  const getAggregate = "hostaggregates.v1.AggregateService/GetAggregate";
  const registerHost = "hostaggregates.v1.AgentRegistryService/RegisterHost";

  it("accepts the admin token (control)", async () => {
    const res = await call(getAggregate, { id: String(existingId) }, `Bearer ${h.adminToken}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: String(existingId), name: "auth-target" });
  });

  it("answers 401 unauthenticated without a token or with a wrong one", async () => {
    for (const authorization of [undefined, "Bearer wrong-token", `Basic ${h.adminToken}`, "Bearer"]) {
      const res = await call(getAggregate, { id: String(existingId) }, authorization);
      expect(res.status, `authorization: ${authorization}`).toBe(401);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      expect(await res.json()).toMatchObject({ code: "unauthenticated" });
    }
  });

  it("answers 403 permission_denied for the agent token on AggregateService", async () => {
    const res = await call(getAggregate, { id: String(existingId) }, `Bearer ${h.agentToken}`);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: "permission_denied" });
  });

  it("answers 403 permission_denied for the admin token on RegisterHost", async () => {
    const res = await call(registerHost, { name: "json-by-admin", xapiAddress: "192.0.2.1", agentEndpoint: "127.0.0.1:7001" }, `Bearer ${h.adminToken}`);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: "permission_denied" });
    await expectRpcError(h.hosts.getHost({ name: "json-by-admin" }), Code.NotFound);
  });

  it("accepts the agent token on RegisterHost", async () => {
    const res = await call(registerHost, { name: "json-by-agent", xapiAddress: "192.0.2.1", agentEndpoint: "127.0.0.1:7001" }, `Bearer ${h.agentToken}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ host: { name: "json-by-agent" } });
  });
});

describe("TokenRegistry.load", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "aggregates-tokens-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads tokens and roles from a tokens file", () => {
    const file = join(dir, "tokens.json");
    writeFileSync(file, JSON.stringify([{ token: "file-admin", role: "admin" }, { token: "file-agent", role: "agent" }]));
    const tokens = TokenRegistry.load({ file, env: {} });
    expect(tokens.size).toBe(2);
    expect(tokens.roleOf("file-admin")).toBe("admin");
    expect(tokens.roleOf("file-agent")).toBe("agent");
    expect(tokens.roleOf("file-admin ")).toBeUndefined();
    expect(tokens.roleOf("other")).toBeUndefined();
  });

  it("reads AGGREGATES_ADMIN_TOKEN and AGGREGATES_AGENT_TOKEN from the given environment", () => {
    const tokens = TokenRegistry.load({ env: { AGGREGATES_ADMIN_TOKEN: "env-admin", AGGREGATES_AGENT_TOKEN: "env-agent" } });
    expect(tokens.size).toBe(2);
    expect(tokens.roleOf("env-admin")).toBe("admin");
    expect(tokens.roleOf("env-agent")).toBe("agent");
    expect(TokenRegistry.load({ env: { AGGREGATES_ADMIN_TOKEN: "only-admin" } }).size).toBe(1);
    expect(TokenRegistry.load({ env: {} }).size).toBe(0);
  });

  it("combines the file and the environment", () => {
    const file = join(dir, "combined.json");
    writeFileSync(file, JSON.stringify([{ token: "file-admin", role: "admin" }]));
    const tokens = TokenRegistry.load({ file, env: { AGGREGATES_AGENT_TOKEN: "env-agent" } });
    expect(tokens.size).toBe(2);
    expect(tokens.roleOf("file-admin")).toBe("admin");
    expect(tokens.roleOf("env-agent")).toBe("agent");
  });

  it.each([
    ["not a list", { token: "t", role: "admin" }],
    ["an unknown role", [{ token: "t", role: "root" }]],
    ["a missing token", [{ role: "admin" }]],
    ["an empty token", [{ token: "  ", role: "admin" }]],
  ])("refuses a tokens file with %s", (_what, content) => {
    const file = join(dir, "bad.json");
    writeFileSync(file, JSON.stringify(content));
    expect(() => TokenRegistry.load({ file, env: {} })).toThrow();
  });

  it("serves the loaded tokens end to end", async () => {
    const file = join(dir, "served.json");
    writeFileSync(file, JSON.stringify([{ token: "served-admin", role: "admin" }]));
    const served = await startTestController({ tokens: TokenRegistry.load({ file, env: { AGGREGATES_AGENT_TOKEN: "served-agent" } }) });
    try {
      await expect(served.client(AggregateService, "served-admin").listAggregates({})).resolves.toBeDefined();
      await expectRpcError(served.client(AggregateService, "served-agent").listAggregates({}), Code.PermissionDenied);
      await expect(served.client(AgentRegistryService, "served-agent").heartbeat({ name: "x" })).resolves.toMatchObject({ reregister: true });
      // The harness's default tokens are not accepted by this controller.
      await expectRpcError(served.client(AggregateService, h.adminToken).listAggregates({}), Code.Unauthenticated);
    } finally {
      await served.close();
    }
  });
});
