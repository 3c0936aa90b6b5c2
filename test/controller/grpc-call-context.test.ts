/**
 * What a call served on grpc-js leaves behind: nothing. Its signal still aborts when the client
 * cancels or the deadline passes, and the handler still sees the caller's metadata and principal.
 */
import { getEventListeners } from "node:events";
import { Code, ConnectError, createClient, type ServiceImpl } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AggregateService } from "../../gen/hostaggregates/v1/aggregate_pb.js";
import { formatHostPort } from "../../shared/address.js";
import { principalKey, TokenRegistry, tokenAuthenticator } from "../../shared/auth.js";
import { unimplemented } from "../../shared/errors.js";
import { createLogger } from "../../shared/logging.js";
import { createRpcTransport } from "../../shared/rpc/client.js";
import { startRpcServer, type RpcServer } from "../../shared/rpc/server.js";
import { registerService } from "../../shared/rpc/service-registration.js";

/** How the last signal-waiting handler ended. */
let aborted: Promise<unknown> = Promise.resolve();

/** GetAggregate answers at once after reading the context; ListAggregates waits for its signal. */
function service(): ServiceImpl<typeof AggregateService> {
  const no = () => {
    throw unimplemented("not in this test");
  };
  return {
    getAggregate: (req, ctx) => {
      void ctx.signal; // made, so it must be released when the call ends
      return { id: req.id, name: `${ctx.requestHeader.get("x-test") ?? ""}/${ctx.values.get(principalKey)?.role ?? "anonymous"}` };
    },
    listAggregates: (_req, ctx) => {
      aborted = new Promise((resolve) => ctx.signal.addEventListener("abort", () => resolve(ctx.signal.reason), { once: true }));
      return aborted.then(() => ({}));
    },
    createAggregate: no,
    updateAggregate: no,
    setAggregateMetadata: no,
    deleteAggregate: no,
    addHost: no,
    removeHost: no,
    repairAggregate: no,
    recoverMaster: no,
    startRollingMaintenance: no,
  };
}

let server: RpcServer;
let client: ReturnType<typeof createClient<typeof AggregateService>>;
beforeAll(async () => {
  const tokens = new TokenRegistry();
  tokens.add("t0ken", "admin");
  server = await startRpcServer({
    grpcListen: "127.0.0.1:0",
    services: [registerService(AggregateService, service(), ["admin"])],
    authenticator: tokenAuthenticator(tokens),
    log: createLogger("test", { level: "error" }),
  });
  server.health.setServing();
  client = createClient(AggregateService, createRpcTransport({ endpoint: formatHostPort(server.grpcAddress), token: "t0ken" }));
});
afterAll(async () => {
  await server?.close(100);
});

describe("the context of a gRPC call", () => {
  it("leaves no listener on the shutdown signal once calls with deadlines have been answered", async () => {
    const before = getEventListeners(server.shutdownSignal, "abort").length;
    for (let i = 0; i < 50; i++) {
      const answer = await client.getAggregate({ id: BigInt(i + 1) }, { timeoutMs: 30_000, headers: { "x-test": "seen" } });
      expect(answer.name).toBe("seen/admin");
    }
    expect(getEventListeners(server.shutdownSignal, "abort").length).toBe(before);
  });

  it("aborts the handler's signal when the deadline passes", async () => {
    await expect(client.listAggregates({}, { timeoutMs: 200 })).rejects.toMatchObject({ code: Code.DeadlineExceeded });
    // The client resets the stream at its own deadline, which may reach the server a moment before the server's.
    expect([Code.DeadlineExceeded, Code.Canceled]).toContain(ConnectError.from(await aborted).code);
  });

  it("aborts the handler's signal when the client cancels", async () => {
    const cancel = new AbortController();
    const call = client.listAggregates({}, { signal: cancel.signal });
    const handlerSaw = (async () => {
      while (getEventListeners(server.shutdownSignal, "abort").length === 0) await new Promise((r) => setImmediate(r));
      cancel.abort();
      return ConnectError.from(await aborted).code;
    })();
    await expect(call).rejects.toMatchObject({ code: Code.Canceled });
    expect(await handlerSaw).toBe(Code.Canceled);
  });
});
