/** Serves connect-style service handlers on a @grpc/grpc-js server. */
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type DescMessage, type DescMethod } from "@bufbuild/protobuf";
import { ConnectError, createContextValues, type HandlerContext } from "@connectrpc/connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { principalKey, type Authenticator } from "../auth.js";
import { invalidArgument, toConnectError } from "../errors.js";
import type { Logger } from "../logging.js";
import { encodingsOf } from "./encoded-message.js";
import { GrpcCallContext, metadataValue, type SurfaceCall } from "./grpc-call-context.js";
import type { ServiceRegistration } from "./service-registration.js";

/** What the adapter needs besides the services. */
export interface GrpcAdapterOptions {
  authenticator: Authenticator;
  shutdownSignal: AbortSignal;
  log: Logger;
  /** True when the server verifies client certificates (mTLS). */
  verifiesClientCertificates: boolean;
}

type AnyImpl = (input: unknown, ctx: HandlerContext) => unknown;

/** Converts a ConnectError into the status object grpc-js sends, details included. */
export function toGrpcStatus(err: ConnectError): grpc.ServiceError {
  const metadata = new grpc.Metadata();
  const details = setTrailerStatus(new Headers(), err).get("grpc-status-details-bin");
  if (details) metadata.set("grpc-status-details-bin", Buffer.from(details, "base64"));
  return Object.assign(new Error(err.rawMessage), { code: err.code as number, details: err.rawMessage, metadata });
}

function peerVerified(call: SurfaceCall): boolean {
  const auth = call.getAuthContext?.();
  return Boolean(auth?.sslPeerCertificate);
}

/** Adds one service to a grpc-js server. */
export function addGrpcService(server: grpc.Server, registration: ServiceRegistration, options: GrpcAdapterOptions): void {
  const { service, access } = registration;
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  const handlers: grpc.UntypedServiceImplementation = {};

  for (const method of service.methods) {
    const impl = (registration.impl as unknown as Record<string, AnyImpl>)[method.localName]!;
    const path = `/${service.typeName}/${method.name}`;
    const serialize = (schema: DescMessage) => (m: unknown) => {
      const bytes = encodingsOf(m)?.binary() ?? toBinary(schema, m as never);
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    };
    const deserialize = (schema: DescMessage) => (b: Buffer) => fromBinary(schema, b);
    // Requests arrive as bytes and are decoded in the handler, so malformed input is INVALID_ARGUMENT.
    const keepBytes = (b: Buffer) => b;
    definition[method.name] = {
      path,
      originalName: method.localName,
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: serialize(method.input),
      requestDeserialize: keepBytes,
      responseSerialize: serialize(method.output),
      responseDeserialize: deserialize(method.output),
    };

    const shared = { service, method, url: path, shutdownSignal: options.shutdownSignal };
    const contextFor = (call: SurfaceCall): GrpcCallContext => {
      const principal = options.authenticator.authorize(
        access,
        metadataValue(call.metadata, "authorization"),
        options.verifiesClientCertificates && peerVerified(call),
      );
      return new GrpcCallContext(call, shared, createContextValues().set(principalKey, principal));
    };
    handlers[method.name] = makeHandler(method, impl, contextFor, options.log);
  }
  server.addService(definition as grpc.ServiceDefinition, handlers);
}

/** The incoming messages of a client-streaming or bidi call, ending when the client half-closes. */
async function* incoming(call: NodeJS.EventEmitter): AsyncGenerator<unknown> {
  const queue: unknown[] = [];
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  call.on("data", (m: unknown) => {
    queue.push(m);
    notify();
  });
  call.on("end", () => {
    ended = true;
    notify();
  });
  call.on("cancelled", () => {
    ended = true;
    notify();
  });
  call.on("error", (err: unknown) => {
    failure = err;
    notify();
  });
  for (;;) {
    if (queue.length > 0) {
      yield queue.shift();
      continue;
    }
    if (failure) throw failure;
    if (ended) return;
    await new Promise<void>((resolve) => (wake = resolve));
  }
}

/** Decodes every message of a request stream. */
async function* decoded(schema: DescMessage, messages: AsyncIterable<unknown>): AsyncGenerator<unknown> {
  for await (const bytes of messages) yield decode(schema, bytes);
}

/** Decodes a request; a malformed message is the caller's error. */
function decode(schema: DescMessage, bytes: unknown): unknown {
  try {
    return fromBinary(schema, bytes as Uint8Array);
  } catch (err) {
    throw invalidArgument([{ field: "(request)", description: `malformed ${schema.typeName} message: ${err instanceof Error ? err.message : String(err)}` }]);
  }
}

/** Resolves when the stream can take more, or false when the call ended first. */
function writable(call: NodeJS.EventEmitter & { cancelled: boolean }): Promise<boolean> {
  if (call.cancelled) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean) => () => {
      call.off("drain", onDrain);
      call.off("cancelled", onEnd);
      call.off("close", onEnd);
      call.off("error", onEnd);
      resolve(ok);
    };
    const onDrain = done(true);
    const onEnd = done(false);
    call.once("drain", onDrain);
    call.once("cancelled", onEnd);
    call.once("close", onEnd);
    call.once("error", onEnd);
  });
}

function makeHandler(
  method: DescMethod,
  impl: AnyImpl,
  contextFor: (call: SurfaceCall) => GrpcCallContext,
  log: Logger,
): grpc.UntypedHandleCall {
  const output = method.output;
  const fail = (err: unknown) => toGrpcStatus(toConnectError(err, log));

  if (method.methodKind === "unary") {
    return (async (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      let ctx: GrpcCallContext | undefined;
      try {
        ctx = contextFor(call);
        const result = await impl(decode(method.input, call.request), ctx);
        callback(null, create(output, result as never));
      } catch (err) {
        callback(fail(err));
      } finally {
        ctx?.end();
      }
    }) as grpc.handleUnaryCall<unknown, unknown>;
  }

  const writeAll = async (call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>, input: unknown) => {
    let ctx: GrpcCallContext | undefined;
    try {
      ctx = contextFor(call);
      const results = impl(input, ctx) as AsyncIterable<unknown>;
      for await (const result of results) {
        if (call.cancelled) break;
        // A cancelled call never drains: stop waiting (breaking out also ends the handler's generator).
        if (!call.write(create(output, result as never)) && !(await writable(call))) break;
      }
      if (!call.cancelled) call.end();
    } catch (err) {
      call.emit("error", fail(err));
    } finally {
      ctx?.end();
    }
  };

  if (method.methodKind === "server_streaming") {
    return ((call: grpc.ServerWritableStream<unknown, unknown>) => {
      let request: unknown;
      try {
        request = decode(method.input, call.request);
      } catch (err) {
        call.emit("error", fail(err));
        return;
      }
      void writeAll(call, request);
    }) as grpc.handleServerStreamingCall<unknown, unknown>;
  }
  if (method.methodKind === "bidi_streaming") {
    return ((call: grpc.ServerDuplexStream<unknown, unknown>) => void writeAll(call, decoded(method.input, incoming(call)))) as grpc.handleBidiStreamingCall<unknown, unknown>;
  }
  return ((call: grpc.ServerReadableStream<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
    void (async () => {
      let ctx: GrpcCallContext | undefined;
      try {
        ctx = contextFor(call);
        const result = await impl(decoded(method.input, incoming(call)), ctx);
        callback(null, create(output, result as never));
      } catch (err) {
        callback(fail(err));
      } finally {
        ctx?.end();
      }
    })();
  }) as grpc.handleClientStreamingCall<unknown, unknown>;
}
