/**
 * The control API over HTTP: JSON routes on 127.0.0.1 onto the in-process control operations
 * (docs/simulator.md, "Control API").
 */
import http from "node:http";
import type { Socket } from "node:net";
import type { World } from "../world.js";
import { ControlError, type SimulatorControl, type VmSpec } from "./control.js";

const MAX_BODY = 1024 * 1024;

type Json = unknown;
interface Route {
  method: string;
  pattern: RegExp;
  run: (params: string[], body: Json, url: URL) => Promise<[number, Json]> | [number, Json];
}

function readJson(req: http.IncomingMessage): Promise<Json> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) reject(new ControlError(400, "body too large"));
      else chunks.push(c);
    });
    req.on("error", reject);
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8").trim();
      if (text === "") return resolve(undefined);
      try {
        resolve(JSON.parse(text) as Json);
      } catch {
        reject(new ControlError(400, "body is not valid JSON"));
      }
    });
  });
}

function objectBody(body: Json): Record<string, unknown> {
  if (body === undefined) return {};
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw new ControlError(400, "body must be a JSON object");
  return body as Record<string, unknown>;
}

function routes(control: SimulatorControl, world: World): Route[] {
  const name = (p: string[]): string => decodeURIComponent(p[0] ?? "");
  return [
    { method: "GET", pattern: /^\/state$/, run: () => [200, control.state()] },
    {
      method: "GET",
      pattern: /^\/config$/,
      run: () => [200, { timeScale: world.clock.timeScale, durations: world.durations, username: world.options.username }],
    },
    { method: "POST", pattern: /^\/hosts$/, run: async (_p, body) => [201, await control.addHost(objectBody(body) as never)] },
    { method: "GET", pattern: /^\/hosts\/([^/]+)$/, run: (p) => [200, control.host(name(p))] },
    { method: "PATCH", pattern: /^\/hosts\/([^/]+)$/, run: (p, body) => [200, control.setHostFacts(name(p), objectBody(body))] },
    {
      method: "POST",
      pattern: /^\/hosts\/([^/]+)\/vms$/,
      run: (p, body) => [201, { vms: control.addVms(name(p), objectBody(body) as VmSpec) }],
    },
    {
      method: "POST",
      pattern: /^\/hosts\/([^/]+)\/power$/,
      run: async (p, body) => {
        const on = objectBody(body)["on"];
        if (typeof on !== "boolean") throw new ControlError(400, 'body must be {"on": true|false}');
        return [200, await control.power(name(p), on)];
      },
    },
    {
      method: "POST",
      pattern: /^\/hosts\/([^/]+)\/restart-toolstack$/,
      run: async (p) => [200, await control.restartToolstack(name(p))],
    },
    { method: "POST", pattern: /^\/hosts\/([^/]+)\/faults$/, run: (p, body) => [201, control.setFault(name(p), objectBody(body) as never)] },
    { method: "DELETE", pattern: /^\/hosts\/([^/]+)\/faults$/, run: (p) => [200, control.clearFaults(name(p))] },
    {
      method: "POST",
      pattern: /^\/migration-lower-bound$/,
      run: (_p, body) => {
        const b = objectBody(body);
        let uuids: unknown = b["vms"];
        if (typeof b["host"] === "string") {
          const host = b["host"];
          control.host(host);
          uuids = control
            .state()
            .vms.filter((v) => v.residentOn === host)
            .map((v) => v.uuid);
        }
        if (!Array.isArray(uuids)) throw new ControlError(400, 'body must be {"vms": [uuid, …]} or {"host": name}');
        return [200, control.migrationLowerBound(uuids as string[])];
      },
    },
  ];
}

/** The JSON-over-HTTP control API (see docs/simulator.md) on 127.0.0.1. */
export class ControlServer {
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly table: Route[];

  constructor(control: SimulatorControl, world: World) {
    this.table = routes(control, world);
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
  }

  /** Listens; resolves with the URL (`http://127.0.0.1:PORT`). */
  listen(port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen({ host: "127.0.0.1", port }, () => {
        this.server.removeListener("error", reject);
        const addr = this.server.address();
        resolve(`http://127.0.0.1:${addr && typeof addr === "object" ? addr.port : port}`);
      });
    });
  }

  /** Closes the listener and every connection. */
  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const send = (status: number, body: Json): void => {
      if (res.writableEnded || res.destroyed) return;
      const text = JSON.stringify(body ?? {});
      res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      res.end(text);
    };
    try {
      const url = new URL(req.url ?? "/", "http://control");
      const path = url.pathname.replace(/\/+$/, "") || "/";
      const matching = this.table.filter((r) => r.pattern.test(path));
      if (matching.length === 0) {
        req.resume();
        return send(404, { error: `no such endpoint: ${path}` });
      }
      const route = matching.find((r) => r.method === req.method);
      if (!route) {
        req.resume();
        return send(405, { error: `method ${req.method ?? "?"} not allowed on ${path}` });
      }
      const body = await readJson(req);
      const params = (route.pattern.exec(path) ?? []).slice(1);
      const [status, payload] = await route.run(params, body, url);
      send(status, payload);
    } catch (error) {
      if (error instanceof ControlError) send(error.status, { error: error.message });
      else send(500, { error: error instanceof Error ? error.message : String(error) });
    }
  }
}
