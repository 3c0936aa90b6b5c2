/** gRPC clients for our services (connect-node's gRPC transport over HTTP/2). */
import type { DescService } from "@bufbuild/protobuf";
import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { ClientTls } from "../tls.js";
import { parseEndpointList } from "./endpoint-list.js";
import { createFailoverTransport } from "./failover-transport.js";

/** How to reach a server. */
export interface RpcClientOptions {
  /**
   * "HOST:PORT", or a full http(s):// URL; or a comma-separated list of them (replicas of one
   * service): calls then move to the next when one cannot be reached (failover-transport.ts).
   */
  endpoint: string;
  /** Bearer token sent with every call. */
  token?: string;
  /** TLS (https) when set: CA to trust, and a client certificate for mTLS. */
  tls?: ClientTls;
  /** Default per-call timeout in milliseconds. */
  defaultTimeoutMs?: number;
}

/** A transport to the server (or servers, for a list); share it between clients of several services. Extra interceptors run first. */
export function createRpcTransport(options: RpcClientOptions, extraInterceptors: Interceptor[] = []): Transport {
  const endpoints = parseEndpointList(options.endpoint);
  if (endpoints.length > 1) return createFailoverTransport(endpoints, (endpoint) => createRpcTransport({ ...options, endpoint }, extraInterceptors));
  const scheme = options.tls ? "https" : "http";
  const baseUrl = /^https?:\/\//.test(endpoints[0]!) ? endpoints[0]! : `${scheme}://${endpoints[0]!}`;
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
