/**
 * The benchmark's baseline: a bare AggregateService on the controller's own serving stack
 * (startRpcServer from shared/rpc/server.ts: @grpc/grpc-js, our adapter, reflection), whose
 * handlers answer pre-built messages without auth, validation or SQLite. Measuring the controller
 * against it isolates what our handlers, auth and store cost per call.
 *
 * GetAggregate and CreateAggregate answer one pre-built Aggregate, ListAggregates one pre-built
 * page; the other methods are UNIMPLEMENTED. The messages are read from files of protobuf binary
 * (the benchmark passes the controller's own answers, so sizes and shapes match), or are synthetic.
 *
 * Usage: node --import tsx bench/echo-server.ts [--listen 127.0.0.1:0] [--aggregate FILE] [--list FILE]
 * Prints "echo serving gRPC on HOST:PORT" when ready; ends on SIGTERM/SIGINT.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { create, fromBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  AggregateSchema,
  AggregateService,
  ListAggregatesResponseSchema,
  PoolState,
  type Aggregate,
  type ListAggregatesResponse,
} from "../gen/hostaggregates/v1/aggregate_pb.js";
import { formatHostPort } from "../shared/address.js";
import { TokenRegistry, tokenAuthenticator } from "../shared/auth.js";
import { unimplemented } from "../shared/errors.js";
import { createLogger } from "../shared/logging.js";
import { startRpcServer } from "../shared/rpc/server.js";
import { registerService } from "../shared/rpc/service-registration.js";
import { closeOnSignals, runServer } from "./lib/server-main.js";

/** An aggregate like the ones the benchmark seeds (three metadata keys, a zone, no hosts). */
export function syntheticAggregate(id: number): Aggregate {
  const now = timestampFromDate(new Date());
  return create(AggregateSchema, {
    id: BigInt(id),
    uuid: "0b6e1f8e-3c4d-4a5b-9c6d-7e8f90a1b2c3",
    name: `bench-agg-${String(id).padStart(4, "0")}`,
    availabilityZone: `az-${id % 4}`,
    metadata: { owner: "bench", tier: "gold", "rack.row": `r${id % 10}` },
    createdAt: now,
    updatedAt: now,
    pool: { state: PoolState.EMPTY },
  });
}

function echoService(aggregate: Aggregate, page: ListAggregatesResponse): ServiceImpl<typeof AggregateService> {
  const no = (name: string) => () => {
    throw unimplemented(`the echo server does not implement ${name}`);
  };
  return {
    getAggregate: () => aggregate,
    listAggregates: () => page,
    createAggregate: () => aggregate,
    updateAggregate: no("UpdateAggregate"),
    setAggregateMetadata: no("SetAggregateMetadata"),
    deleteAggregate: no("DeleteAggregate"),
    addHost: no("AddHost"),
    removeHost: no("RemoveHost"),
    repairAggregate: no("RepairAggregate"),
    recoverMaster: no("RecoverMaster"),
    startRollingMaintenance: no("StartRollingMaintenance"),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      listen: { type: "string", default: "127.0.0.1:0" },
      aggregate: { type: "string" },
      list: { type: "string" },
    },
    strict: true,
  });
  const aggregate = values.aggregate ? fromBinary(AggregateSchema, readFileSync(values.aggregate)) : syntheticAggregate(1);
  const page = values.list
    ? fromBinary(ListAggregatesResponseSchema, readFileSync(values.list))
    : create(ListAggregatesResponseSchema, { aggregates: Array.from({ length: 500 }, (_, i) => syntheticAggregate(i + 1)) });

  const server = await startRpcServer({
    grpcListen: values.listen,
    services: [registerService(AggregateService, echoService(aggregate, page), "public")],
    authenticator: tokenAuthenticator(new TokenRegistry()),
    log: createLogger("echo-server"),
  });
  server.health.setServing();
  console.log(`echo serving gRPC on ${formatHostPort(server.grpcAddress)}`);

  closeOnSignals(() => server.close(1000));
}

runServer("echo-server", main);
