/**
 * A transport over several endpoints of one service (controller replicas): calls go to the one that
 * last answered; a call that fails before any server answered it (connection refused, reset or
 * unreachable) is sent to the next endpoint, each tried once, and the one that answers is kept. When
 * none answers, the call fails UNAVAILABLE naming every endpoint and why. A call that timed out with
 * no answer (a frozen or overloaded server accepts connections but says nothing) is not sent again,
 * but the next call goes to the next endpoint. A reset can come after the
 * request was sent, so a call moved then may have reached the server that died: agents' calls are
 * idempotent; an operator's repeated intake meets the state the first one left (e.g. the operation
 * already queued) and is judged against it.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { createAsyncIterable } from "@connectrpc/connect/protocol";
import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import { answeredByPeer } from "../agent-errors.js";

/** Socket error codes of a server that cannot be reached, or went away during the call. */
const connectionCodes = new Set(["ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL", "ENOTFOUND", "EAI_AGAIN"]);

function causeCodes(err: unknown): string[] {
  const codes: string[] = [];
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === "string") codes.push(code);
  }
  return codes;
}

/** True when a call failed because no server answered it (a status from a server is never one). */
export function isConnectionFailure(err: unknown): boolean {
  if (!(err instanceof ConnectError) || answeredByPeer(err)) return false;
  return err.code === Code.Unavailable || causeCodes(err).some((c) => connectionCodes.has(c));
}

/** True when a call ran out of time with no answer from the server. */
const isSilentTimeout = (err: unknown): boolean => err instanceof ConnectError && err.code === Code.DeadlineExceeded && !answeredByPeer(err);

/** A transport that moves between `endpoints` (at least one) as described above; `transportTo` makes each endpoint's transport. */
export function createFailoverTransport(endpoints: readonly string[], transportTo: (endpoint: string) => Transport): Transport {
  if (endpoints.length === 0) throw new Error("no endpoint");
  const transports = new Map<number, Transport>();
  const transportAt = (index: number) => {
    let transport = transports.get(index);
    if (!transport) transports.set(index, (transport = transportTo(endpoints[index]!)));
    return transport;
  };
  let current = 0;

  async function attempt<R>(signal: AbortSignal | undefined, timeoutMs: number | undefined, call: (transport: Transport, timeoutMs: number | undefined) => Promise<R>): Promise<R> {
    const deadline = timeoutMs !== undefined && timeoutMs > 0 ? Date.now() + timeoutMs : undefined;
    const start = current;
    const failures: string[] = [];
    let last: unknown;
    for (let tried = 0; tried < endpoints.length; tried++) {
      const index = (start + tried) % endpoints.length;
      const remaining = deadline === undefined ? timeoutMs : deadline - Date.now();
      if (remaining !== undefined && remaining <= 0 && tried > 0) break;
      try {
        const result = await call(transportAt(index), remaining);
        current = index;
        return result;
      } catch (err) {
        if (signal?.aborted || !isConnectionFailure(err)) {
          current = isSilentTimeout(err) && !signal?.aborted ? (index + 1) % endpoints.length : index;
          throw err;
        }
        last = err;
        failures.push(`${endpoints[index]}: ${(err as ConnectError).rawMessage}`);
      }
    }
    if (endpoints.length === 1) throw last;
    throw new ConnectError(`none of the endpoints ${endpoints.join(",")} answered (${failures.join("; ")})`, Code.Unavailable, undefined, undefined, last);
  }

  return {
    unary(method, signal, timeoutMs, header, input, contextValues) {
      return attempt(signal, timeoutMs, (t, ms) => t.unary(method, signal, ms, header, input, contextValues));
    },
    async stream(method, signal, timeoutMs, header, input, contextValues) {
      // A server stream's one request can be sent again; a client or bidi stream's input is read once.
      if (method.methodKind !== "server_streaming") return transportAt(current).stream(method, signal, timeoutMs, header, input, contextValues);
      const messages: MessageInitShape<typeof method.input>[] = [];
      for await (const message of input) messages.push(message);
      return attempt(signal, timeoutMs, (t, ms) => t.stream(method, signal, ms, header, createAsyncIterable(messages), contextValues));
    },
  };
}
