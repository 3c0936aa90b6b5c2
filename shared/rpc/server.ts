/**
 * One server process's RPC endpoints: gRPC on @grpc/grpc-js, and optionally Connect/JSON
 * (plus any extra HTTP routes) on connect-node, both serving the same handlers, with gRPC
 * reflection and the grpc.health.v1 health service beside the given services.
 */
import { setMaxListeners } from "node:events";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import type { Authenticator } from "../auth.js";
import { formatHostPort, parseHostPort, type HostPort } from "../address.js";
import type { Logger } from "../logging.js";
import type { ServerTls } from "../tls.js";
import { createConnectHandler } from "./connect-adapter.js";
import { addGrpcService } from "./grpc-adapter.js";
import { healthService } from "./health-service.js";
import { HealthState, type HealthControl, type HealthProbe } from "./health-state.js";
import { reflectionServiceNames, reflectionServices } from "./reflection.js";
import type { ServiceRegistration } from "./service-registration.js";

/** An extra HTTP handler tried before Connect; returns true when it answered the request. */
export type HttpRoute = (req: http.IncomingMessage, res: http.ServerResponse) => boolean | Promise<boolean>;

/** Options of startRpcServer. */
export interface RpcServerOptions {
  /** gRPC listen address "HOST:PORT" (port 0 picks a free port). */
  grpcListen: string;
  /** Optional HTTP listen address for Connect/JSON and extra routes. */
  httpListen?: string;
  services: ServiceRegistration[];
  authenticator: Authenticator;
  log: Logger;
  tls?: ServerTls;
  /** Extra HTTP routes (e.g. a REST API) served on the HTTP port before Connect. */
  httpRoutes?: HttpRoute[];
  /** Largest request accepted, in bytes (default 4 MiB). */
  maxRequestBytes?: number;
  /** What the overall health and every service in `services` also depend on (e.g. the database). */
  healthProbe?: HealthProbe;
}

/** A running server. */
export interface RpcServer {
  grpcAddress: HostPort;
  httpAddress?: HostPort;
  /** Aborted when shutdown starts, so long waits and streams end. */
  shutdownSignal: AbortSignal;
  /** The health the server reports: NOT_SERVING ("starting") until the owner calls setServing(). */
  health: HealthControl;
  /** Reports draining, stops accepting calls, lets in-flight calls finish (up to graceMs), then closes everything. */
  close(graceMs?: number): Promise<void>;
}

/** Starts the gRPC server (and the HTTP server when httpListen is set). */
export async function startRpcServer(options: RpcServerOptions): Promise<RpcServer> {
  const shutdown = new AbortController();
  // Every in-flight call listens for shutdown; there is no leak (listeners leave with their call).
  setMaxListeners(0, shutdown.signal);
  const verifiesClientCertificates = Boolean(options.tls?.clientCa);
  const health = new HealthState({
    services: [Health.typeName, ...reflectionServiceNames],
    probedServices: options.services.map((s) => s.service.typeName),
    probe: options.healthProbe,
    log: options.log,
  });
  const all = [...options.services, healthService(health), ...reflectionServices([...options.services.map((s) => s.service), Health])];
  const maxBytes = options.maxRequestBytes ?? 4 * 1024 * 1024;

  const grpcServer = new grpc.Server({ "grpc.max_receive_message_length": maxBytes });
  for (const registration of all) {
    addGrpcService(grpcServer, registration, {
      authenticator: options.authenticator,
      shutdownSignal: shutdown.signal,
      log: options.log,
      verifiesClientCertificates,
    });
  }
  const credentials = options.tls
    ? grpc.ServerCredentials.createSsl(
        options.tls.clientCa ?? null,
        [{ private_key: options.tls.key, cert_chain: options.tls.cert }],
        verifiesClientCertificates,
      )
    : grpc.ServerCredentials.createInsecure();
  const grpcListen = parseHostPort(options.grpcListen, "gRPC listen address");
  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync(formatHostPort(grpcListen), credentials, (err, port) => (err ? reject(err) : resolve(port))),
  );

  let httpServer: http.Server | undefined;
  let httpAddress: HostPort | undefined;
  const sockets = new Set<Socket>();
  if (options.httpListen) {
    const connectHandler = createConnectHandler(all, {
      authenticator: options.authenticator,
      shutdownSignal: shutdown.signal,
      log: options.log,
      verifiesClientCertificates,
      maxRequestBytes: maxBytes,
    });
    const routes = options.httpRoutes ?? [];
    const handler = async (req: http.IncomingMessage, res: http.ServerResponse) => {
      // While shutting down, answered connections are closed instead of kept alive.
      if (shutdown.signal.aborted) res.setHeader("connection", "close");
      res.once("finish", () => {
        if (shutdown.signal.aborted) httpServer?.closeIdleConnections();
      });
      try {
        for (const route of routes) if (await route(req, res)) return;
        connectHandler(req, res);
      } catch (err) {
        options.log.error("HTTP handler failed", { error: err instanceof Error ? err.message : String(err) });
        if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ code: "internal", message: "internal error; see the server log" }));
      }
    };
    httpServer = options.tls
      ? https.createServer(
          { key: options.tls.key, cert: options.tls.cert, ca: options.tls.clientCa, requestCert: verifiesClientCertificates, rejectUnauthorized: false },
          (req, res) => void handler(req, res),
        )
      : http.createServer((req, res) => void handler(req, res));
    httpServer.on("connection", (socket: Socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    const listen = parseHostPort(options.httpListen, "HTTP listen address");
    await new Promise<void>((resolve, reject) => {
      httpServer!.once("error", reject);
      httpServer!.listen(listen.port, listen.host, () => resolve());
    });
    httpAddress = { host: listen.host, port: (httpServer.address() as AddressInfo).port };
  }

  let closing: Promise<void> | undefined;
  const close = (graceMs = 5000) =>
    (closing ??= (async () => {
      // Watchers of the health service see NOT_SERVING before their streams end with the shutdown.
      health.setDraining();
      shutdown.abort(new Error("server shutting down"));
      const grpcDone = new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          grpcServer.forceShutdown();
          resolve();
        }, graceMs);
        grpcServer.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      const httpDone = httpServer
        ? new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              for (const s of sockets) s.destroy();
              resolve();
            }, graceMs);
            httpServer!.close(() => {
              clearTimeout(timer);
              resolve();
            });
            httpServer!.closeIdleConnections();
          })
        : Promise.resolve();
      await Promise.all([grpcDone, httpDone]);
    })());

  return { grpcAddress: { host: grpcListen.host, port: grpcPort }, httpAddress, shutdownSignal: shutdown.signal, health, close };
}
