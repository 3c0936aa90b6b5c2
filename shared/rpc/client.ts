/** gRPC clients for our services (connect-node's gRPC transport over HTTP/2). */
import type { DescService } from "@bufbuild/protobuf";
import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { ClientTls } from "../tls.js";

/** How to reach a server. */
export interface RpcClientOptions {
  /** "HOST:PORT", or a full http(s):// URL. */
  endpoint: string;
  /** Bearer token sent with every call. */
  token?: string;
  /** TLS (https) when set: CA to trust, and a client certificate for mTLS. */
  tls?: ClientTls;
  /** Default per-call timeout in milliseconds. */
  defaultTimeoutMs?: number;
}

/** A transport to one server; share it between clients of several services. Extra interceptors run first. */
export function createRpcTransport(options: RpcClientOptions, extraInterceptors: Interceptor[] = []): Transport {
  const scheme = options.tls ? "https" : "http";
  const baseUrl = /^https?:\/\//.test(options.endpoint) ? options.endpoint : `${scheme}://${options.endpoint}`;
  const interceptors: Interceptor[] = [...extraInterceptors];
  if (options.token) {
    const header = `Bearer ${options.token}`;
    interceptors.push((next) => (req) => {
      req.header.set("authorization", header);
      return next(req);
    });
  }
  return createGrpcTransport({
    baseUrl,
    interceptors,
    defaultTimeoutMs: options.defaultTimeoutMs,
    nodeOptions: options.tls ? { ca: options.tls.ca, cert: options.tls.cert, key: options.tls.key } : undefined,
  });
}

/** A client of one service. */
export function createRpcClient<S extends DescService>(service: S, transportOrOptions: Transport | RpcClientOptions): Client<S> {
  const transport = "endpoint" in transportOrOptions ? createRpcTransport(transportOrOptions) : transportOrOptions;
  return createClient(service, transport);
}
