/**
 * The controller's grpc.health.v1 service on a real server (loopback port 0) with real clients
 * (connect-node's gRPC client, Connect/JSON over fetch, grpcurl_mini): no token needed, overall and
 * per service, NOT_FOUND / SERVICE_UNKNOWN for unknown services, NOT_SERVING when draining and when
 * the database cannot be used — and no other service became callable without a token.
 */
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentRegistryService } from "../../gen/hostaggregates/v1/agent_registry_pb.js";
import { AggregateService } from "../../gen/hostaggregates/v1/aggregate_pb.js";
import { EventService } from "../../gen/hostaggregates/v1/event_pb.js";
import { HostService } from "../../gen/hostaggregates/v1/host_pb.js";
import { OperationService } from "../../gen/hostaggregates/v1/operation_pb.js";
import type { SqliteStore } from "../../controller/store/sqlite-store.js";
import { startTestController, type TestController } from "../support/controller-harness.js";
import { grpcurl, grpcurlMissing } from "../support/grpcurl-mini.js";
import { callWithoutToken, healthClient, Status, watchHealth } from "../support/health-client.js";
import { expectRpcError } from "../support/rpc-errors.js";

const apiServices = [AggregateService, HostService, OperationService, EventService, AgentRegistryService];

describe("controller health (shared controller)", () => {
  let h: TestController;
  beforeAll(async () => {
    h = await startTestController();
  });
  afterAll(async () => {
    await h?.close();
  });

  it("answers Check SERVING without a token, overall and for every service it serves", async () => {
    const health = healthClient(h.grpcEndpoint);
    expect((await health.check({})).status).toBe(Status.SERVING);
    const names = [...apiServices.map((s) => s.typeName), "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"];
    for (const service of names) expect((await health.check({ service })).status, service).toBe(Status.SERVING);
  });

  it("answers an unknown service: Check NOT_FOUND, Watch SERVICE_UNKNOWN and the stream stays open", async () => {
    const health = healthClient(h.grpcEndpoint);
    await expectRpcError(health.check({ service: "no.such.Service" }), Code.NotFound);
    const watch = watchHealth(h.grpcEndpoint, "no.such.Service");
    expect(await watch.next()).toBe(Status.SERVICE_UNKNOWN);
    // Still open: a known status on the same server comes through while this stream waits.
    expect((await health.check({})).status).toBe(Status.SERVING);
    watch.cancel();
    expect(await watch.ended()).toBe(Code.Canceled);
  });

  it("answers Check over Connect/JSON without a token too", async () => {
    const res = await fetch(`${h.httpUrl}/grpc.health.v1.Health/Check`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "SERVING" });
  });

  it("exempts only the health service: every method of every API service still needs a token, on both protocols", async () => {
    for (const service of apiServices) {
      for (const method of service.methods) {
        expect(await callWithoutToken(h.grpcEndpoint, service, method), `gRPC ${service.typeName}/${method.name}`).toBe(Code.Unauthenticated);
        if (method.methodKind !== "unary") continue;
        const res = await fetch(`${h.httpUrl}/${service.typeName}/${method.name}`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
        expect(res.status, `Connect ${service.typeName}/${method.name}`).toBe(401);
      }
    }
  });

  it.skipIf(grpcurlMissing !== undefined)(`is listed by reflection and callable with grpcurl_mini${grpcurlMissing ? ` (SKIPPED: ${grpcurlMissing})` : ""}`, async () => {
    const [list, methods, check] = await Promise.all([
      grpcurl(h.grpcEndpoint, "list"),
      grpcurl(h.grpcEndpoint, "list", "grpc.health.v1.Health"),
      grpcurl("-d", '{"service":"hostaggregates.v1.AggregateService"}', h.grpcEndpoint, "grpc.health.v1.Health/Check"),
    ]);
    expect(list.stderr).toBe("");
    expect(list.stdout.split("\n")).toContain("grpc.health.v1.Health");
    expect(methods.stdout).toContain("grpc.health.v1.Health.Check");
    expect(methods.stdout).toContain("grpc.health.v1.Health.Watch");
    expect(check.stderr).toBe("");
    expect(JSON.parse(check.stdout)).toEqual({ status: "SERVING" });
  });
});

describe("controller health changes", () => {
  it("Watch sends SERVING, then NOT_SERVING as soon as the controller starts draining, then ends", async () => {
    const h = await startTestController();
    try {
      const overall = watchHealth(h.grpcEndpoint, "");
      const api = watchHealth(h.grpcEndpoint, "hostaggregates.v1.AggregateService");
      expect(await overall.next()).toBe(Status.SERVING);
      expect(await api.next()).toBe(Status.SERVING);
      const closing = h.controller.close();
      expect(await overall.next()).toBe(Status.NOT_SERVING);
      expect(await api.next()).toBe(Status.NOT_SERVING);
      // The shutdown ends the streams normally, so the close is not held up by them.
      expect(await overall.ended()).toBeUndefined();
      expect(await api.ended()).toBeUndefined();
      await closing;
    } finally {
      await h.close();
    }
  });

  it("reports NOT_SERVING when the database cannot be used (overall and API services; reflection still serves)", async () => {
    const h = await startTestController({ healthProbeIntervalMs: 20 });
    try {
      const health = healthClient(h.grpcEndpoint);
      const overall = watchHealth(h.grpcEndpoint, "");
      expect(await overall.next()).toBe(Status.SERVING);
      // The database handle fails under the controller, as after a fatal I/O error.
      (h.controller.context.store as SqliteStore).db.close();
      await expectRpcError(h.aggregates.listAggregates({}), Code.Internal);
      // The watcher learns it from the periodic probe, without calling Check.
      expect(await overall.next()).toBe(Status.NOT_SERVING);
      expect((await health.check({})).status).toBe(Status.NOT_SERVING);
      for (const service of apiServices) expect((await health.check({ service: service.typeName })).status, service.typeName).toBe(Status.NOT_SERVING);
      expect((await health.check({ service: "grpc.reflection.v1.ServerReflection" })).status).toBe(Status.SERVING);
      overall.cancel();
    } finally {
      await h.close();
    }
  });
});
