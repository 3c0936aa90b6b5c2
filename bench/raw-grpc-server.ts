/**
 * The benchmark's floor: a bare @grpc/grpc-js server with none of the project's code (no adapter,
 * no auth, no reflection, no health service). It serves AggregateService's GetAggregate,
 * ListAggregates and CreateAggregate by hand-written method definitions: the request is decoded
 * and the answer encoded with the same protobuf-es codecs the adapter uses, and the answers are
 * the same pre-built messages the echo server sends (files of protobuf binary). Echo / raw is what
 * our adapter costs per call on top of grpc-js itself.
 *
 * Usage: node --import tsx bench/raw-grpc-server.ts --aggregate FILE --list FILE [--listen 127.0.0.1:0]
 * Prints "raw grpc-js serving gRPC on HOST:PORT" when ready; ends on SIGTERM/SIGINT.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { fromBinary, toBinary, type DescMessage } from "@bufbuild/protobuf";
import {
  AggregateSchema,
  CreateAggregateRequestSchema,
  GetAggregateRequestSchema,
  ListAggregatesRequestSchema,
  ListAggregatesResponseSchema,
} from "../gen/hostaggregates/v1/aggregate_pb.js";

const servicePath = "/hostaggregates.v1.AggregateService/";

/** A unary method definition with protobuf-es codecs. */
function unary(name: string, input: DescMessage, output: DescMessage): grpc.MethodDefinition<unknown, unknown> {
  return {
    path: servicePath + name,
    originalName: name,
    requestStream: false,
    responseStream: false,
    requestSerialize: (m) => Buffer.from(toBinary(input, m as never)),
    requestDeserialize: (b: Buffer) => fromBinary(input, b),
    responseSerialize: (m) => Buffer.from(toBinary(output, m as never)),
    responseDeserialize: (b: Buffer) => fromBinary(output, b),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { listen: { type: "string", default: "127.0.0.1:0" }, aggregate: { type: "string" }, list: { type: "string" } },
    strict: true,
  });
  if (!values.aggregate || !values.list) throw new Error("--aggregate FILE and --list FILE are required");
  const aggregate = fromBinary(AggregateSchema, readFileSync(values.aggregate));
  const page = fromBinary(ListAggregatesResponseSchema, readFileSync(values.list));

  const server = new grpc.Server({ "grpc.max_receive_message_length": 4 * 1024 * 1024 });
  server.addService(
    {
      GetAggregate: unary("GetAggregate", GetAggregateRequestSchema, AggregateSchema),
      ListAggregates: unary("ListAggregates", ListAggregatesRequestSchema, ListAggregatesResponseSchema),
      CreateAggregate: unary("CreateAggregate", CreateAggregateRequestSchema, AggregateSchema),
    },
    {
      GetAggregate: (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => callback(null, aggregate),
      ListAggregates: (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => callback(null, page),
      CreateAggregate: (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => callback(null, aggregate),
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(values.listen, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  console.log(`raw grpc-js serving gRPC on 127.0.0.1:${port}`);

  const stop = () => server.tryShutdown(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

main().catch((err: unknown) => {
  console.error(`raw-grpc-server: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
