/** Serves the same handlers as Connect (JSON or binary), gRPC-Web and gRPC over HTTP with connect-node. */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { createContextValues, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { principalKey, type Authenticator } from "../auth.js";
import { toConnectError } from "../errors.js";
import type { Logger } from "../logging.js";
import type { ServiceRegistration } from "./service-registration.js";

/** Options of the Connect adapter. */
export interface ConnectAdapterOptions {
  authenticator: Authenticator;
  shutdownSignal: AbortSignal;
  log: Logger;
  verifiesClientCertificates: boolean;
  /** Largest request accepted, in bytes. */
  maxRequestBytes: number;
}

const certificateVerifiedKey = Symbol("client-certificate-verified");

/** Returns a node:http request handler serving the services. */
export function createConnectHandler(
  registrations: ServiceRegistration[],
  options: ConnectAdapterOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const accessByService = new Map(registrations.map((r) => [r.service.typeName, r.access]));
  const authInterceptor: Interceptor = (next) => async (req) => {
    const access = accessByService.get(req.service.typeName) ?? [];
    const verified = (req.contextValues as unknown as Record<symbol, boolean>)[certificateVerifiedKey] === true;
    const principal = options.authenticator.authorize(access, req.header.get("authorization"), verified);
    req.contextValues.set(principalKey, principal);
    try {
      return await next(req);
    } catch (err) {
      throw toConnectError(err, options.log);
    }
  };
  return connectNodeAdapter({
    routes: (router: ConnectRouter) => {
      for (const r of registrations) router.service(r.service, r.impl);
    },
    interceptors: [authInterceptor],
    readMaxBytes: options.maxRequestBytes,
    shutdownSignal: options.shutdownSignal,
    contextValues: (req) => {
      const values = createContextValues();
      const socket = req.socket as TLSSocket;
      const verified = options.verifiesClientCertificates && socket.authorized === true && Boolean(socket.getPeerCertificate?.()?.raw);
      (values as unknown as Record<symbol, boolean>)[certificateVerifiedKey] = verified;
      return values;
    },
  }) as (req: IncomingMessage, res: ServerResponse) => void;
}
