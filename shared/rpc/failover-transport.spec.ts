/** The failover transport over fake per-endpoint transports: which endpoint each call goes to, and what fails. */
import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import { createAsyncIterable } from "@connectrpc/connect/protocol";
import { describe, expect, it } from "vitest";
import { EventService } from "../../gen/hostaggregates/v1/event_pb.js";
import { HostService } from "../../gen/hostaggregates/v1/host_pb.js";
import { parseEndpointList, parseHostPortList } from "./endpoint-list.js";
import { createFailoverTransport, isConnectionFailure } from "./failover-transport.js";

const refused = () => new ConnectError("connect ECONNREFUSED", Code.Unavailable);
const reset = () => {
  const err = new ConnectError("read ECONNRESET", Code.Aborted);
  err.cause = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
  return err;
};
/** An UNAVAILABLE that a server sent (it carries grpc-status). */
const answered = () => new ConnectError("the agent is stopping", Code.Unavailable, { "grpc-status": "14" });

/** Endpoints whose behaviour the test sets: "up", or an error to throw; records which endpoint each attempt went to. */
function world(state: Record<string, "up" | (() => ConnectError)>) {
  const calls: string[] = [];
  const transportTo = (endpoint: string): Transport => {
    const answer = async <T,>(value: T): Promise<T> => {
      calls.push(endpoint);
      const s = state[endpoint]!;
      if (s !== "up") throw s();
      return value;
    };
    return {
      unary: (method, _s, timeoutMs, _h, input) => answer({ stream: false, service: method.parent, method, header: new Headers({ endpoint, timeout: String(timeoutMs) }), trailer: new Headers(), message: input } as never),
      stream: async (method, _s, _t, _h, input) => {
        const messages = [];
        for await (const m of input) messages.push(m);
        return answer({ stream: true, service: method.parent, method, header: new Headers({ endpoint, requests: String(messages.length) }), trailer: new Headers(), message: createAsyncIterable([]) } as never);
      },
    };
  };
  const transport = createFailoverTransport(Object.keys(state), transportTo);
  const call = async () => (await transport.unary(HostService.method.listHosts, undefined, 1000, undefined, {})).header.get("endpoint");
  return { calls, transport, call };
}

describe("createFailoverTransport", () => {
  it("moves past an endpoint that refuses or resets, and keeps the one that answered", async () => {
    const w = world({ a: refused, b: reset, c: "up" });
    expect(await w.call()).toBe("c");
    expect(await w.call()).toBe("c");
    expect(w.calls).toEqual(["a", "b", "c", "c"]);
  });

  it("moves on when the current endpoint dies, wrapping round the list", async () => {
    const state: Record<string, "up" | (() => ConnectError)> = { a: "up", b: "up" };
    const w = world(state);
    expect(await w.call()).toBe("a");
    state.a = refused;
    expect(await w.call()).toBe("b");
    state.a = "up";
    state.b = refused;
    expect(await w.call()).toBe("a");
    expect(w.calls).toEqual(["a", "a", "b", "b", "a"]);
  });

  it("does not send a call again when a server answered it, even UNAVAILABLE", async () => {
    const w = world({ a: answered, b: "up" });
    await expect(w.call()).rejects.toThrow("the agent is stopping");
    expect(w.calls).toEqual(["a"]);
  });

  it("does not send a timed-out call again, but sends the next call to the next endpoint", async () => {
    const w = world({ a: () => new ConnectError("the operation timed out", Code.DeadlineExceeded), b: "up" });
    await expect(w.call()).rejects.toThrow("the operation timed out");
    expect(await w.call()).toBe("b");
    expect(w.calls).toEqual(["a", "b"]);
  });

  it("fails UNAVAILABLE naming every endpoint and why when none answers", async () => {
    const w = world({ a: refused, b: reset });
    const err = await w.call().then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    if (!err) throw new Error("the call succeeded");
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toBe("none of the endpoints a,b answered (a: connect ECONNREFUSED; b: read ECONNRESET)");
  });

  it("keeps one endpoint's own error as it is", async () => {
    const w = world({ a: refused });
    await expect(w.call()).rejects.toThrow("[unavailable] connect ECONNREFUSED");
  });

  it("sends a server stream's request again to the next endpoint", async () => {
    const w = world({ a: refused, b: "up" });
    const response = await w.transport.stream(EventService.method.watchEvents, undefined, undefined, undefined, createAsyncIterable([{}]));
    expect([response.header.get("endpoint"), response.header.get("requests")]).toEqual(["b", "1"]);
  });
});

describe("isConnectionFailure", () => {
  it("is true for transport failures only", () => {
    expect([refused(), reset(), answered(), new ConnectError("x", Code.DeadlineExceeded), new Error("x")].map(isConnectionFailure)).toEqual([true, true, false, false, false]);
  });
});

describe("parseEndpointList", () => {
  it("splits and trims; refuses empty and repeated items naming the setting", () => {
    expect(parseEndpointList(" a:1 , b:2")).toEqual(["a:1", "b:2"]);
    expect(() => parseEndpointList("a:1,,b:2", "--endpoint")).toThrow('--endpoint: expected HOST:PORT or a comma-separated list of them, got "a:1,,b:2"');
    expect(() => parseEndpointList("a:1,a:1", "--endpoint")).toThrow('--endpoint: "a:1" is listed twice');
    expect(() => parseHostPortList("a:1,b", "--controller")).toThrow('--controller: expected HOST:PORT, got "b"');
  });
});
