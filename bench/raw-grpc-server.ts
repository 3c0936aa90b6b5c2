/**
 * The benchmark's floor: a bare @grpc/grpc-js server with none of the project's code (no adapter,
 * no auth, no reflection, no health service). It serves AggregateService's GetAggregate,
 * ListAggregates and CreateAggregate by hand-written method definitions: the request is decoded
 * and the answer encoded with the same protobuf-es codecs the adapter uses, and the answers are
 * the same pre-built messages the echo server sends (files of protobuf binary). Echo / raw is what
 * our adapter costs per call on top of grpc-js itself.
 *
 * With --as-bytes the answers are the files' bytes, sent as they are (no encoding per call): the floor
 * of a server that keeps its answers encoded, as the controller does. With --db FILE it is also the
 * floor of a durable write: UpdateAggregate, SetAggregateMetadata and DeleteAggregate are served too,
 * and each write (CreateAggregate included) first commits one row (bench/lib/floor-commit.ts), so a
 * write costs grpc-js, the request's decoding and one durable commit, and nothing else.
 *
 * Usage: node --import tsx bench/raw-grpc-server.ts --aggregate FILE --list FILE [--as-bytes] [--db FILE] [--listen 127.0.0.1:0]
 * Prints "raw grpc-js serving gRPC on HOST:PORT" when ready; ends on SIGTERM/SIGINT.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { EmptySchema } from "@bufbuild/protobuf/wkt";
import {
  AggregateSchema,
  CreateAggregateRequestSchema,
  DeleteAggregateRequestSchema,
  GetAggregateRequestSchema,
  ListAggregatesRequestSchema,
  ListAggregatesResponseSchema,
  SetAggregateMetadataRequestSchema,
  UpdateAggregateRequestSchema,
} from "../gen/hostaggregates/v1/aggregate_pb.js";
import { openFloorCommit } from "./lib/floor-commit.js";
import { closeOnSignals, runServer } from "./lib/server-main.js";

const servicePath = "/hostaggregates.v1.AggregateService/";

/** A unary method definition with protobuf-es codecs (answers given as a Buffer are sent as they are). */
function unary(name: string, input: DescMessage, output: DescMessage): grpc.MethodDefinition<unknown, unknown> {
  return {
    path: servicePath + name,
    originalName: name,
    requestStream: false,
    responseStream: false,
    requestSerialize: (m) => Buffer.from(toBinary(input, m as never)),
    requestDeserialize: (b: Buffer) => fromBinary(input, b),
    responseSerialize: (m) => (Buffer.isBuffer(m) ? m : Buffer.from(toBinary(output, m as never))),
    responseDeserialize: (b: Buffer) => fromBinary(output, b),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { listen: { type: "string", default: "127.0.0.1:0" }, aggregate: { type: "string" }, list: { type: "string" }, db: { type: "string" }, "as-bytes": { type: "boolean", default: false } },
    strict: true,
  });
  if (!values.aggregate || !values.list) throw new Error("--aggregate FILE and --list FILE are required");
  const asBytes = values["as-bytes"];
  const answer = (file: string, schema: DescMessage) => (asBytes ? readFileSync(file) : fromBinary(schema, readFileSync(file)));
  const aggregate = answer(values.aggregate, AggregateSchema);
  const page = answer(values.list, ListAggregatesResponseSchema);

  const server = new grpc.Server({ "grpc.max_receive_message_length": 4 * 1024 * 1024 });
  type Handler = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => void;
  const definitions: Record<string, grpc.MethodDefinition<unknown, unknown>> = {
    GetAggregate: unary("GetAggregate", GetAggregateRequestSchema, AggregateSchema),
    ListAggregates: unary("ListAggregates", ListAggregatesRequestSchema, ListAggregatesResponseSchema),
    CreateAggregate: unary("CreateAggregate", CreateAggregateRequestSchema, AggregateSchema),
  };
  const handlers: Record<string, Handler> = {
    GetAggregate: (_call, callback) => callback(null, aggregate),
    ListAggregates: (_call, callback) => callback(null, page),
    CreateAggregate: (_call, callback) => callback(null, aggregate),
  };
  if (values.db) {
    const commit = openFloorCommit(values.db);
    const empty = asBytes ? Buffer.alloc(0) : create(EmptySchema);
    const writes: [string, DescMessage, DescMessage, unknown][] = [
      ["CreateAggregate", CreateAggregateRequestSchema, AggregateSchema, aggregate],
      ["UpdateAggregate", UpdateAggregateRequestSchema, AggregateSchema, aggregate],
      ["SetAggregateMetadata", SetAggregateMetadataRequestSchema, AggregateSchema, aggregate],
      ["DeleteAggregate", DeleteAggregateRequestSchema, EmptySchema, empty],
    ];
    for (const [name, input, output, reply] of writes) {
      definitions[name] = unary(name, input, output);
      handlers[name] = (call, callback) => {
        commit(name);
        callback(null, reply);
      };
    }
  }
  server.addService(definitions, handlers);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(values.listen, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  console.log(`raw grpc-js serving gRPC on 127.0.0.1:${port}`);

  closeOnSignals(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
}

runServer("raw-grpc-server", main);
