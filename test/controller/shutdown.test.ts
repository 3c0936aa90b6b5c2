/** Graceful shutdown of an in-process controller: close() does not wait for idle clients, and finishes calls in flight. */
import { existsSync } from "node:fs";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { OperationState } from "../../gen/hostaggregates/v1/operation_pb.js";
import { hostRegistration, startTestController, type TestController } from "../support/controller-harness.js";
import { expectRpcError } from "../support/rpc-errors.js";

/** An AddHost operation that never ends by itself (its host's agent is unreachable, so it keeps retrying). */
async function pendingOperation(h: TestController): Promise<string> {
  await h.registry.registerHost(hostRegistration("unreachable-host"));
  const a = await h.aggregates.createAggregate({ name: "shutdown" });
  return (await h.aggregates.addHost({ aggregateId: a.id, host: "unreachable-host" })).id;
}

describe("Controller.close", () => {
  it("resolves promptly while a client still holds an open HTTP/2 session (and an HTTP keep-alive connection)", async () => {
    const h = await startTestController();
    let closed = false;
    try {
      // Open sessions: the gRPC client's HTTP/2 session and fetch's keep-alive connection stay open after these calls.
      await h.aggregates.createAggregate({ name: "session-holder" });
      const res = await fetch(`${h.httpUrl}/hostaggregates.v1.AggregateService/ListAggregates`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${h.adminToken}` },
        body: "{}",
      });
      expect(res.status).toBe(200);
      await res.json();

      const started = Date.now();
      await h.controller.close(10_000);
      closed = true;
      // Well under the 10 s grace: close() must not wait for idle clients to hang up.
      expect(Date.now() - started).toBeLessThan(2_000);
      await expectRpcError(h.aggregates.listAggregates({}), Code.Unavailable);
    } finally {
      if (!closed) await h.controller.close(0);
      await h.close();
    }
    expect(existsSync(h.dir)).toBe(false);
  });

  it("finishes a Connect/JSON call in flight and still closes promptly", async () => {
    // An HTTP route that only observes: it tells when the request has reached the server.
    let arrived!: () => void;
    const reachedServer = new Promise<void>((resolve) => (arrived = resolve));
    const h = await startTestController({
      httpRoutes: () => [
        (req) => {
          if (req.url?.endsWith("/WaitOperation")) arrived();
          return false;
        },
      ],
    });
    try {
      const opId = await pendingOperation(h);
      const waiting = fetch(`${h.httpUrl}/hostaggregates.v1.OperationService/WaitOperation`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${h.adminToken}` },
        body: JSON.stringify({ id: opId, timeout: "30s" }),
      });
      await reachedServer;

      const started = Date.now();
      const closing = h.controller.close(10_000);
      const res = await waiting;
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ id: opId, kind: "OPERATION_KIND_ADD_HOST" });
      await closing;
      // Known bug: the keep-alive connection of the answered request keeps close() waiting until the client hangs up.
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await h.close();
    }
  });

  it("finishes a call in flight (a WaitOperation is answered, not cut off)", async () => {
    const h = await startTestController();
    try {
      const opId = await pendingOperation(h);
      const waiting = h.operations.waitOperation({ id: opId, timeout: { seconds: 30n } });
      // The wait reaches the server first: a later call on the same connection is answered after it started.
      await h.operations.getOperation({ id: opId });

      const started = Date.now();
      const closing = h.controller.close(10_000);
      const answer = await waiting;
      expect(answer.id).toBe(opId);
      expect([OperationState.PENDING, OperationState.RUNNING]).toContain(answer.state);
      await closing;
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await h.close();
    }
  });
});
