/**
 * The REST path's floor: a bare node:http server with none of the project's code (no routing table,
 * no auth, no microversions, no store). It answers the os-aggregates calls the benchmark makes with
 * the controller's own JSON answers (files, sent as they are): GET /…/os-aggregates the list, GET of
 * one aggregate and every POST and PUT the aggregate, DELETE an empty 200. It reads and parses each
 * request body, as any server must; with --db FILE every POST, PUT and DELETE first commits one row
 * (bench/lib/floor-commit.ts). What a REST call costs here is what node:http, JSON parsing and one
 * durable commit cost, and nothing else.
 *
 * Usage: node --import tsx bench/raw-http-server.ts --aggregate FILE --list FILE [--db FILE] [--listen 127.0.0.1:0]
 * Prints "raw node:http serving HTTP on http://HOST:PORT" when ready; ends on SIGTERM/SIGINT.
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import { parseArgs } from "node:util";
import { openFloorCommit } from "./lib/floor-commit.js";
import { closeOnSignals, listenOn, runServer } from "./lib/server-main.js";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { listen: { type: "string", default: "127.0.0.1:0" }, aggregate: { type: "string" }, list: { type: "string" }, db: { type: "string" } },
    strict: true,
  });
  if (!values.aggregate || !values.list) throw new Error("--aggregate FILE and --list FILE are required");
  const aggregate = readFileSync(values.aggregate);
  const list = readFileSync(values.list);
  const commit = values.db ? openFloorCommit(values.db) : () => {};

  const send = (res: http.ServerResponse, body: Buffer) =>
    res.writeHead(200, { "content-type": "application/json", "content-length": body.length }).end(body);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      try {
        if (text !== "") JSON.parse(text);
      } catch {
        res.writeHead(400).end();
        return;
      }
      const method = req.method ?? "GET";
      if (method === "GET") {
        send(res, /\/os-aggregates\/?$/.test(req.url ?? "") ? list : aggregate);
        return;
      }
      commit(method);
      if (method === "DELETE") res.writeHead(200, { "content-length": 0 }).end();
      else send(res, aggregate);
    });
  });
  console.log(`raw node:http serving HTTP on http://${await listenOn(server, values.listen)}`);

  closeOnSignals(() => new Promise<void>((resolve) => server.close(() => resolve())));
}

runServer("raw-http-server", main);
