/** One simulated host's XML-RPC HTTP listener (POST on / and /RPC2), opened and closed with its toolstack. */
import http from "node:http";
import type { Socket } from "node:net";

/** What the endpoint sends back for one request; `null` drops the connection. */
export interface EndpointReply {
  status: number;
  contentType: string;
  body: string;
}

/** Handles one XML-RPC POST body (path is `/` or `/RPC2`). */
export type RpcBodyHandler = (body: Buffer) => Promise<EndpointReply | null>;

const MAX_BODY_BYTES = 16 * 1024 * 1024;
const RPC_PATHS = new Set(["/", "/RPC2"]);

function htmlReply(status: number, text: string): EndpointReply {
  return {
    status,
    contentType: "text/html",
    body: `<html><body><h1>HTTP ${status}</h1>${text}</body></html>`,
  };
}

/**
 * One simulated host's XML-RPC listener on `address:port`. Opening and closing
 * are serialised; closing destroys every socket so clients see ECONNREFUSED
 * (new connections) or ECONNRESET (in-flight calls), like a stopped xapi.
 */
export class HostEndpoint {
  readonly address: string;
  port: number;
  private server: http.Server | null = null;
  private readonly sockets = new Set<Socket>();
  private chain: Promise<void> = Promise.resolve();
  private wantOpen = false;

  constructor(address: string, port: number, private readonly handler: RpcBodyHandler) {
    this.address = address;
    this.port = port;
  }

  /** True while the listener is (or is about to be) accepting connections. */
  get isOpen(): boolean {
    return this.wantOpen;
  }

  /** Starts listening; resolves with the bound port. Rejects (e.g. EADDRINUSE) without leaving a listener. */
  open(): Promise<number> {
    this.wantOpen = true;
    const step = this.chain.then(() => this.doOpen());
    this.chain = step.then(
      () => undefined,
      () => undefined,
    );
    return step;
  }

  /** Stops listening and destroys every connection. Idempotent. */
  close(): Promise<void> {
    this.wantOpen = false;
    const step = this.chain.then(() => this.doClose());
    this.chain = step;
    return step;
  }

  private doOpen(): Promise<number> {
    if (!this.wantOpen) return Promise.resolve(this.port);
    if (this.server) return Promise.resolve(this.port);
    const server = http.createServer((req, res) => this.onRequest(req, res));
    server.keepAliveTimeout = 30_000;
    server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
      if (this.server !== server) socket.destroy();
    });
    server.on("clientError", (_err, socket) => {
      if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
      else socket.destroy();
    });
    return new Promise<number>((resolve, reject) => {
      const onError = (error: Error): void => {
        server.removeListener("listening", onListening);
        reject(error);
      };
      const onListening = (): void => {
        server.removeListener("error", onError);
        server.on("error", () => undefined);
        const bound = server.address();
        if (bound && typeof bound === "object") this.port = bound.port;
        this.server = server;
        resolve(this.port);
      };
      server.once("error", onError);
      server.once("listening", onListening);
      server.listen({ host: this.address, port: this.port, exclusive: true });
    });
  }

  private doClose(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (!server) return Promise.resolve();
    return new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (!RPC_PATHS.has(path)) {
      req.resume();
      this.send(res, htmlReply(404, "Not found"));
      return;
    }
    if (req.method !== "POST") {
      req.resume();
      this.send(res, htmlReply(405, "Only POST is supported on this path"));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on("error", () => res.destroy());
    req.on("end", () => {
      if (tooLarge) {
        this.send(res, htmlReply(413, "Request too large"));
        return;
      }
      this.handler(Buffer.concat(chunks)).then(
        (reply) => {
          if (reply === null) res.destroy();
          else this.send(res, reply);
        },
        (error: unknown) => this.send(res, htmlReply(500, String(error))),
      );
    });
  }

  private send(res: http.ServerResponse, reply: EndpointReply): void {
    if (res.destroyed || res.writableEnded) return;
    const body = Buffer.from(reply.body, "utf8");
    res.writeHead(reply.status, { "content-type": reply.contentType, "content-length": body.length });
    res.end(body);
  }
}
