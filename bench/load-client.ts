/**
 * The benchmark's load generator, a process of its own so its CPU is not the measured server's.
 *
 * gRPC calls go through @grpc/grpc-js `Client.makeUnaryRequest` with protobuf-es codecs (the
 * cheapest client measured on this machine, see docs/toolchain.md §gRPC serving and clients); Nova's REST API is
 * driven with node:http keep-alive. A fixed number of calls is kept in flight; after a warm-up the
 * run is measured until a call count or a duration is reached, whichever comes first.
 *
 * Usage:
 *   node --import tsx bench/load-client.ts --spec '<LoadSpec JSON>'   one run, prints a LoadResult JSON line
 *   node --import tsx bench/load-client.ts                            serves runs: reads {"id","spec"} JSON lines
 *                                                                     on stdin, answers {"id","result"|"error"};
 *                                                                     {"id","specs":[…]} runs them at the same time
 *                                                                     and answers {"id","results":[…]}
 */
import { readFileSync } from "node:fs";
import * as http from "node:http";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { EmptySchema } from "@bufbuild/protobuf/wkt";
import { HeartbeatRequestSchema, HeartbeatResponseSchema } from "../gen/hostaggregates/v1/agent_registry_pb.js";
import { GetHostRequestSchema, HostSchema, ListHostsRequestSchema, ListHostsResponseSchema } from "../gen/hostaggregates/v1/host_pb.js";
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
import { heartbeatRequest } from "./lib/fleet-layout.js";
import { processCpuUs } from "./lib/proc-stats.js";
import type { GrpcCall, HttpCall, LoadResult, LoadShape, LoadSpec } from "./lib/load-spec.js";

const aggregateService = "/hostaggregates.v1.AggregateService/";
const hostService = "/hostaggregates.v1.HostService/";
const agentRegistryService = "/hostaggregates.v1.AgentRegistryService/";
const grpcClients = new Map<string, grpc.Client>();
const httpAgents = new Map<string, http.Agent>();

/** Total CPU time of some processes, or undefined when there are none or one cannot be read. */
function serversCpuUs(pids: number[] | undefined): number | undefined {
  if (!pids || pids.length === 0) return undefined;
  let total = 0;
  for (const pid of pids) {
    const us = processCpuUs(pid);
    if (us === undefined) return undefined;
    total += us;
  }
  return total;
}

/** Runs `call(n)` (n = 0, 1, 2, … across warm-up and measurement) as the shape says. */
async function drive(shape: LoadShape, call: (n: number) => Promise<void>): Promise<LoadResult> {
  let sequence = 0;
  const concurrency = Math.max(1, Math.floor(shape.concurrency));

  let warmupLeft = shape.warmupCalls;
  let warmupError: string | undefined;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (warmupLeft > 0 && warmupError === undefined) {
        warmupLeft--;
        await call(sequence++).catch((err: unknown) => (warmupError ??= messageOf(err)));
      }
    }),
  );
  if (warmupError !== undefined) {
    return {
      calls: 0,
      errors: 1,
      firstError: `during warm-up: ${warmupError}`,
      seconds: 0,
      callsPerSecond: 0,
      p50Ms: 0,
      p99Ms: 0,
      maxMs: 0,
      maxGapMs: 0,
      longGaps: 0,
      clientCpuUsPerCall: 0,
    };
  }

  const latencies = new Float64Array(shape.maxCalls);
  let issued = 0;
  let ok = 0;
  let errors = 0;
  let firstError: string | undefined;
  const serverCpuStart = serversCpuUs(shape.serverPids);
  const clientCpuStart = process.cpuUsage();
  const start = performance.now();
  const stopAt = start + shape.maxSeconds * 1000;
  let end = start;
  let lastAnswer = start;
  let maxGapMs = 0;
  let longGaps = 0;
  const answered = (t: number) => {
    const gap = t - lastAnswer;
    maxGapMs = Math.max(maxGapMs, gap);
    if (shape.gapThresholdMs !== undefined && gap > shape.gapThresholdMs) longGaps++;
    lastAnswer = Math.max(lastAnswer, t);
    end = Math.max(end, t);
  };
  const paced = shape.pacedIntervalMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (issued < shape.maxCalls && performance.now() < stopAt) {
        issued++;
        const t0 = performance.now();
        try {
          await call(sequence++);
          const t1 = performance.now();
          latencies[ok++] = t1 - t0;
          answered(t1);
        } catch (err) {
          errors++;
          firstError ??= messageOf(err);
          answered(performance.now());
        }
        if (paced !== undefined) {
          const wait = t0 + paced - performance.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        }
      }
    }),
  );
  const serverCpuEnd = serversCpuUs(shape.serverPids);
  const clientCpu = process.cpuUsage(clientCpuStart);
  const measured = latencies.subarray(0, ok).sort();
  const at = (q: number) => (ok === 0 ? 0 : measured[Math.min(ok - 1, Math.ceil(q * ok) - 1)]!);
  const seconds = (end - start) / 1000;
  return {
    calls: ok + errors,
    errors,
    firstError,
    seconds,
    callsPerSecond: seconds > 0 ? ok / seconds : 0,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    maxMs: ok === 0 ? 0 : measured[ok - 1]!,
    maxGapMs,
    longGaps,
    serverCpuUsPerCall:
      serverCpuStart !== undefined && serverCpuEnd !== undefined && ok > 0 ? (serverCpuEnd - serverCpuStart) / ok : undefined,
    clientCpuUsPerCall: ok > 0 ? (clientCpu.user + clientCpu.system) / ok : 0,
  };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function grpcClient(address: string): grpc.Client {
  let client = grpcClients.get(address);
  if (!client) {
    client = new grpc.Client(address, grpc.credentials.createInsecure(), { "grpc.max_receive_message_length": 64 * 1024 * 1024 });
    grpcClients.set(address, client);
  }
  return client;
}

/** A function making one gRPC call number n. Requests are encoded up front where they do not vary. */
function grpcCaller(spec: Extract<LoadSpec, { target: "grpc" }>): (n: number) => Promise<void> {
  const client = grpcClient(spec.address);
  const timeoutMs = spec.callTimeoutMs ?? 10_000;
  const authorization = spec.token ? `Bearer ${spec.token}` : undefined;
  const passThrough = (b: Buffer) => b;
  const unary = (method: string, request: Buffer, output: DescMessage, service = aggregateService) => {
    const decode = (b: Buffer) => fromBinary(output, b);
    const path = service + method;
    return () =>
      new Promise<void>((resolve, reject) => {
        const metadata = new grpc.Metadata();
        if (authorization) metadata.set("authorization", authorization);
        client.makeUnaryRequest(path, passThrough, decode, request, metadata, { deadline: Date.now() + timeoutMs }, (err) =>
          err ? reject(err) : resolve(),
        );
      });
  };
  const encode = <D extends DescMessage>(schema: D, init: MessageInitShape<D>) => Buffer.from(toBinary(schema, create(schema, init)));

  const call: GrpcCall = spec.call;
  switch (call.method) {
    case "GetAggregate": {
      if (call.ids.length === 0) throw new Error("GetAggregate needs ids");
      const callers = call.ids.map((id) => unary("GetAggregate", encode(GetAggregateRequestSchema, { id: BigInt(id) }), AggregateSchema));
      return (n) => callers[n % callers.length]!();
    }
    case "ListAggregates": {
      const caller = unary("ListAggregates", encode(ListAggregatesRequestSchema, { pageSize: call.pageSize }), ListAggregatesResponseSchema);
      return () => caller();
    }
    case "CreateAggregate":
      return (n) =>
        unary(
          "CreateAggregate",
          encode(CreateAggregateRequestSchema, { name: `${call.namePrefix}-${n}`, availabilityZone: call.availabilityZone }),
          AggregateSchema,
        )();
    case "UpdateAggregate":
      return (n) => unary("UpdateAggregate", encode(UpdateAggregateRequestSchema, { id: BigInt(pick(call.ids, n)), name: `${call.namePrefix}-${n}` }), AggregateSchema)();
    case "SetAggregateMetadata":
      return (n) => unary("SetAggregateMetadata", encode(SetAggregateMetadataRequestSchema, { id: BigInt(pick(call.ids, n)), metadata: { "bench.round": String(n) } }), AggregateSchema)();
    case "DeleteAggregate":
      return (n) => unary("DeleteAggregate", encode(DeleteAggregateRequestSchema, { id: BigInt(once(call.ids, n)) }), EmptySchema)();
    case "ListHosts": {
      const caller = unary("ListHosts", encode(ListHostsRequestSchema, { pageSize: call.pageSize }), ListHostsResponseSchema, hostService);
      return () => caller();
    }
    case "GetHost": {
      if (call.names.length === 0) throw new Error("GetHost needs names");
      const callers = call.names.map((name) => unary("GetHost", encode(GetHostRequestSchema, { name }), HostSchema, hostService));
      return (n) => callers[n % callers.length]!();
    }
    case "Heartbeat": {
      const layout = { hosts: call.hosts, pooledHosts: call.pooledHosts };
      const callers = Array.from({ length: call.hosts }, (_, i) =>
        unary("Heartbeat", encode(HeartbeatRequestSchema, heartbeatRequest(layout, i)), HeartbeatResponseSchema, agentRegistryService),
      );
      return (n) => callers[n % callers.length]!();
    }
  }
}

/** ids[n % ids.length], refusing an empty list. */
function pick(ids: number[], n: number): number {
  if (ids.length === 0) throw new Error("this call needs ids");
  return ids[n % ids.length]!;
}

/** ids[n]: each id used once (a delete). */
function once(ids: number[], n: number): number {
  const id = ids[n];
  if (id === undefined) throw new Error(`call ${n} has no id left to delete (${ids.length} given)`);
  return id;
}

/** A function making one Nova REST call number n; a non-2xx status is an error. */
function httpCaller(spec: Extract<LoadSpec, { target: "http" }>): (n: number) => Promise<void> {
  const base = new URL(spec.baseUrl);
  const key = `${base.host}/${spec.concurrency}`;
  let agent = httpAgents.get(key);
  if (!agent) {
    agent = new http.Agent({ keepAlive: true, maxSockets: spec.concurrency });
    httpAgents.set(key, agent);
  }
  const timeoutMs = spec.callTimeoutMs ?? 10_000;
  const request = (method: string, path: string, body?: unknown) =>
    new Promise<void>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = http.request(
        {
          agent,
          host: base.hostname,
          port: base.port,
          method,
          path: base.pathname.replace(/\/$/, "") + path,
          headers: { ...spec.headers, ...(payload ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } : {}) },
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            const status = res.statusCode ?? 0;
            if (status < 200 || status > 299) {
              reject(new Error(`HTTP ${status} from ${method} ${path}: ${text.slice(0, 200)}`));
              return;
            }
            try {
              if (text !== "") JSON.parse(text); // a client reads the answer (a DELETE has none)
              resolve();
            } catch {
              reject(new Error(`invalid JSON from ${method} ${path}`));
            }
          });
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${path} timed out after ${timeoutMs} ms`)));
      req.on("error", reject);
      req.end(payload);
    });

  const call: HttpCall = spec.call;
  switch (call.method) {
    case "show": {
      if (call.ids.length === 0) throw new Error("show needs ids");
      return (n) => request("GET", `/os-aggregates/${call.ids[n % call.ids.length]}`);
    }
    case "list":
      return () => request("GET", "/os-aggregates");
    case "create":
      return (n) =>
        request("POST", "/os-aggregates", {
          aggregate: { name: `${call.namePrefix}-${n}`, ...(call.availabilityZone ? { availability_zone: call.availabilityZone } : {}) },
        });
    case "update":
      return (n) => request("PUT", `/os-aggregates/${pick(call.ids, n)}`, { aggregate: { name: `${call.namePrefix}-${n}` } });
    case "set_metadata":
      return (n) => request("POST", `/os-aggregates/${pick(call.ids, n)}/action`, { set_metadata: { metadata: { "bench.round": String(n) } } });
    case "delete":
      return (n) => request("DELETE", `/os-aggregates/${once(call.ids, n)}`);
  }
}

/** Runs one load spec. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  if (!(spec.concurrency >= 1 && spec.maxCalls >= 1 && spec.maxSeconds > 0 && spec.warmupCalls >= 0)) {
    throw new Error("a load run needs concurrency ≥ 1, maxCalls ≥ 1, maxSeconds > 0 and warmupCalls ≥ 0");
  }
  const caller = spec.target === "grpc" ? grpcCaller(spec) : httpCaller(spec);
  return drive(spec, caller);
}

function closeAll(): void {
  for (const client of grpcClients.values()) client.close();
  for (const agent of httpAgents.values()) agent.destroy();
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { spec: { type: "string" } }, strict: true });
  if (values.spec) {
    const result = await runLoad(JSON.parse(values.spec) as LoadSpec);
    console.log(JSON.stringify(result));
    closeAll();
    return;
  }
  // Serve runs one after the other (a request's `specs` run at the same time, as one run); a run's
  // own bounds end it, and stdin closing ends the process.
  const lines = createInterface({ input: process.stdin });
  let queue = Promise.resolve();
  lines.on("line", (line) => {
    if (line.trim() === "") return;
    queue = queue.then(async () => {
      let id: unknown;
      try {
        const request = JSON.parse(line) as { id: unknown; spec?: LoadSpec; specs?: LoadSpec[] };
        id = request.id;
        const results = await Promise.all((request.specs ?? [request.spec!]).map(runLoad));
        process.stdout.write(JSON.stringify(request.specs ? { id, results } : { id, result: results[0] }) + "\n");
      } catch (err) {
        process.stdout.write(JSON.stringify({ id, error: messageOf(err) }) + "\n");
      }
    });
  });
  lines.on("close", () => {
    void queue.then(() => {
      closeAll();
      process.exit(0);
    });
  });
  process.on("SIGTERM", () => {
    closeAll();
    process.exit(0);
  });
  console.log("load-client ready");
}

main().catch((err: unknown) => {
  console.error(`load-client: ${messageOf(err)}`);
  process.exit(1);
});
