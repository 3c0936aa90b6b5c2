/** Serving a registry over HTTP: the /metrics route (for an existing HTTP server) and a listener of its own. */
import * as http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Registry } from "prom-client";
import { parseHostPort, type HostPort } from "../address.js";
import type { Logger } from "../logging.js";
import type { HttpRoute } from "../rpc/server.js";

/** Where metrics are served. */
export const metricsPath = "/metrics";

/** Why a scrape is refused. */
export interface ScrapeRefusal {
  status: 401 | 403;
  message: string;
  headers?: Record<string, string>;
}

/** Decides whether a request may read the metrics; undefined lets it through. */
export type ScrapeAccess = (req: http.IncomingMessage) => ScrapeRefusal | undefined;

function pathOf(req: http.IncomingMessage): string {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  return q < 0 ? url : url.slice(0, q);
}

/** What a scrape reads: a prom-client registry, or anything that writes the text format as one does. */
export type MetricsSource = Pick<Registry, "contentType" | "metrics">;

/** A route answering GET/HEAD /metrics with the source's metrics in the Prometheus text format; other paths pass. */
export function metricsRoute(source: MetricsSource, access?: ScrapeAccess): HttpRoute {
  return async (req, res) => {
    if (pathOf(req) !== metricsPath) return false;
    const plain = (status: number, message: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", ...headers });
      res.end(req.method === "HEAD" ? undefined : `${message}\n`);
    };
    if (req.method !== "GET" && req.method !== "HEAD") {
      plain(405, "method not allowed: use GET", { allow: "GET, HEAD" });
      return true;
    }
    const refusal = access?.(req);
    if (refusal) {
      plain(refusal.status, refusal.message, refusal.headers);
      return true;
    }
    const body = await source.metrics();
    res.writeHead(200, { "content-type": source.contentType, "cache-control": "no-store" });
    res.end(req.method === "HEAD" ? undefined : body);
    return true;
  };
}

/** A running metrics listener. */
export interface MetricsServer {
  address: HostPort;
  close(): Promise<void>;
}

/** Serves only /metrics on its own plain-HTTP listener ("HOST:PORT"; port 0 picks one); 404 elsewhere. */
export async function startMetricsServer(listen: string, registry: Registry, log: Logger, access?: ScrapeAccess): Promise<MetricsServer> {
  const address = parseHostPort(listen, "metrics listen address");
  const route = metricsRoute(registry, access);
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    Promise.resolve(route(req, res))
      .then((answered) => {
        if (answered) return;
        res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
        res.end(`not found: only ${metricsPath} is served here\n`);
      })
      .catch((err: unknown) => {
        log.error("metrics scrape failed", { error: err instanceof Error ? err.message : String(err) });
        if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
        res.end("internal error; see the log\n");
      });
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(address.port, address.host, () => resolve());
  });
  let closing: Promise<void> | undefined;
  return {
    address: { host: address.host, port: (server.address() as AddressInfo).port },
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // A scraper holding a connection open must not delay shutdown.
        for (const socket of sockets) socket.destroy();
      })),
  };
}
