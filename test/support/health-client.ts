/** Clients for health tests: the grpc.health.v1 client (no token, as a load balancer calls it) and token-less calls of other services. */
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import { createRpcClient } from "../../shared/rpc/client.js";

export { Status };

/** A health client without a token. */
export function healthClient(endpoint: string) {
  return createRpcClient(Health, { endpoint });
}

/** An open Watch: each status as it arrives, and how it ended. */
export interface HealthWatch {
  /** The next status sent; rejects when the stream ends first. */
  next(): Promise<Status>;
  /** Resolves when the server ends the stream (undefined: OK) with its error code otherwise. */
  ended(): Promise<Code | undefined>;
  cancel(): void;
}

/** Opens a Watch of a service on an endpoint. */
export function watchHealth(endpoint: string, service: string): HealthWatch {
  const abort = new AbortController();
  const iterator = healthClient(endpoint).watch({ service }, { signal: abort.signal })[Symbol.asyncIterator]();
  let end: Promise<Code | undefined> | undefined;
  return {
    async next() {
      const r = await iterator.next();
      if (r.done) throw new Error(`the Watch of "${service}" ended without another status`);
      return r.value.status;
    },
    ended: () =>
      (end ??= (async () => {
        try {
          for (;;) if ((await iterator.next()).done) return undefined;
        } catch (err) {
          return ConnectError.from(err).code;
        }
      })()),
    cancel: () => abort.abort(),
  };
}

/** Calls one method without credentials (an empty request; a stream is read to its end); resolves with the failure code, or undefined when it succeeded. */
export async function callWithoutToken(endpoint: string, service: DescService, method: DescMethod): Promise<Code | undefined> {
  const client = createRpcClient(service, { endpoint }) as unknown as Record<string, (request: object) => Promise<unknown> | AsyncIterable<unknown>>;
  try {
    const result = client[method.localName]!({});
    if (method.methodKind === "server_streaming") for await (const _ of result as AsyncIterable<unknown>);
    else await result;
    return undefined;
  } catch (err) {
    return ConnectError.from(err).code;
  }
}
