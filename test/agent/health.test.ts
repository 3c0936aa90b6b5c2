/**
 * An agent's grpc.health.v1 service (a real agent on loopback port 0, on the simulator): SERVING without
 * a token, overall and for PoolAgentService; unknown services; listed by reflection; NOT_SERVING from
 * the first moment of close(); and PoolAgentService still needs its token.
 */
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PoolAgentService } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import { grpcurl, grpcurlMissing } from "../support/grpcurl-mini.js";
import { callWithoutToken, healthClient, Status, watchHealth } from "../support/health-client.js";
import { expectRpcError } from "../support/rpc-errors.js";
import { startAgentWorld, type AgentWorld } from "./agent-harness.js";

let w: AgentWorld;
beforeAll(async () => {
  w = await startAgentWorld({ sim: { hosts: 2, baseAddress: "127.0.0.220" } });
});
afterAll(async () => {
  await w?.close();
});

describe("agent health", () => {
  it("answers Check SERVING without a token, overall and for PoolAgentService; NOT_FOUND for an unknown service", async () => {
    const health = healthClient(w.agent("xs1").agent.endpoint);
    expect((await health.check({})).status).toBe(Status.SERVING);
    expect((await health.check({ service: PoolAgentService.typeName })).status).toBe(Status.SERVING);
    expect((await health.check({ service: "grpc.health.v1.Health" })).status).toBe(Status.SERVING);
    await expectRpcError(health.check({ service: "hostaggregates.v1.AggregateService" }), Code.NotFound);
    const unknown = watchHealth(w.agent("xs1").agent.endpoint, "no.such.Service");
    expect(await unknown.next()).toBe(Status.SERVICE_UNKNOWN);
    unknown.cancel();
  });

  it("still refuses every PoolAgentService method without the token", async () => {
    for (const method of PoolAgentService.methods) {
      expect(await callWithoutToken(w.agent("xs1").agent.endpoint, PoolAgentService, method), method.name).toBe(Code.Unauthenticated);
    }
  });

  it.skipIf(grpcurlMissing !== undefined)(`is listed by reflection and callable with grpcurl_mini${grpcurlMissing ? ` (SKIPPED: ${grpcurlMissing})` : ""}`, async () => {
    const endpoint = w.agent("xs1").agent.endpoint;
    const [list, check] = await Promise.all([grpcurl(endpoint, "list"), grpcurl(endpoint, "grpc.health.v1.Health/Check")]);
    expect(list.stderr).toBe("");
    expect(list.stdout.trim().split("\n").sort()).toEqual([
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "hostaggregates.agent.v1.PoolAgentService",
    ]);
    expect(JSON.parse(check.stdout)).toEqual({ status: "SERVING" });
  });

  it("Watch sends NOT_SERVING as soon as the agent starts closing, then ends", async () => {
    const { agent } = w.agent("xs2");
    const watch = watchHealth(agent.endpoint, "");
    expect(await watch.next()).toBe(Status.SERVING);
    const closing = agent.close();
    expect(await watch.next()).toBe(Status.NOT_SERVING);
    expect(await watch.ended()).toBeUndefined();
    await closing;
  });
});
