/**
 * The floor under grpc-js: gRPC's unary calls answered on node:http2 directly, with no gRPC library
 * at all. Each call's request is read and decoded with protobuf-es (as the grpc-js floor decodes it),
 * and the answer is the file's bytes in one length-prefixed message, then the `grpc-status: 0`
 * trailer. It serves AggregateService's GetAggregate and ListAggregates, and with --db FILE also the
 * writes, each first committing one row (bench/lib/floor-commit.ts). Raw grpc-js / this is what
 * grpc-js costs per call above Node's HTTP/2: what serving gRPC on node:http2 could save at most.
 *
 * Usage: node --import tsx bench/raw-h2-grpc-server.ts --aggregate FILE --list FILE [--db FILE] [--listen 127.0.0.1:0]
 * Prints "raw node:http2 serving gRPC on HOST:PORT" when ready; ends on SIGTERM/SIGINT.
 */
import { readFileSync } from "node:fs";
import http2 from "node:http2";
import { parseArgs } from "node:util";
import { fromBinary, type DescMessage } from "@bufbuild/protobuf";
import { encodeEnvelope } from "@connectrpc/connect/protocol";
import {
  CreateAggregateRequestSchema,
  DeleteAggregateRequestSchema,
  GetAggregateRequestSchema,
  ListAggregatesRequestSchema,
  SetAggregateMetadataRequestSchema,
  UpdateAggregateRequestSchema,
} from "../gen/hostaggregates/v1/aggregate_pb.js";
import { openFloorCommit } from "./lib/floor-commit.js";
import { closeOnSignals, listenOn, runServer } from "./lib/server-main.js";

const servicePath = "/hostaggregates.v1.AggregateService/";

/** One gRPC message: the 5-byte prefix (not compressed, length) and the bytes (the same envelope as Connect's streams). */
const framed = (message: Uint8Array): Buffer => Buffer.from(encodeEnvelope(0, message));

/** A unary method: how to decode its request, what to do first, and the answer's framed bytes. */
interface Method {
  input: DescMessage;
  answer: Buffer;
  before?: () => void;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { listen: { type: "string", default: "127.0.0.1:0" }, aggregate: { type: "string" }, list: { type: "string" }, db: { type: "string" } },
    strict: true,
  });
  if (!values.aggregate || !values.list) throw new Error("--aggregate FILE and --list FILE are required");
  const aggregate = framed(readFileSync(values.aggregate));
  const page = framed(readFileSync(values.list));
  const methods = new Map<string, Method>([
    [servicePath + "GetAggregate", { input: GetAggregateRequestSchema, answer: aggregate }],
    [servicePath + "ListAggregates", { input: ListAggregatesRequestSchema, answer: page }],
  ]);
  if (values.db) {
    const commit = openFloorCommit(values.db);
    const writes: [string, DescMessage, Buffer][] = [
      ["CreateAggregate", CreateAggregateRequestSchema, aggregate],
      ["UpdateAggregate", UpdateAggregateRequestSchema, aggregate],
      ["SetAggregateMetadata", SetAggregateMetadataRequestSchema, aggregate],
      ["DeleteAggregate", DeleteAggregateRequestSchema, framed(Buffer.alloc(0))],
    ];
    for (const [name, input, answer] of writes) methods.set(servicePath + name, { input, answer, before: () => commit(name) });
  }

  const server = http2.createServer({ settings: { maxConcurrentStreams: 1000 } });
  server.on("stream", (stream, headers) => {
    const method = methods.get(String(headers[":path"]));
    if (!method) {
      stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "12", "grpc-message": "unimplemented" }, { endStream: true });
      return;
    }
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      try {
        fromBinary(method.input, body.subarray(5, 5 + body.readUInt32BE(1)));
        method.before?.();
      } catch (err) {
        const message = encodeURIComponent(err instanceof Error ? err.message : String(err));
        stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "13", "grpc-message": message }, { endStream: true });
        return;
      }
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(method.answer);
    });
  });
  // Closing waits for the sessions: the bench's clients are done when it stops a floor, so end them.
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  console.log(`raw node:http2 serving gRPC on ${await listenOn(server, values.listen)}`);

  closeOnSignals(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const session of sessions) session.destroy();
      }),
  );
}

runServer("raw-h2-grpc-server", main);
