/**
 * `--nova`: the controller against OpenStack Nova 26's os-aggregates API in the same run, op by op.
 *
 * Nova (shared/tools/nova-peer.sh: one nova-api worker, SQLite, noauth2) and a fresh controller
 * are both seeded with the same 500 aggregates (zone + three metadata keys). Every call of the
 * os-aggregates workload — show, list (all 500), create, update, set_metadata, delete — is then
 * measured on Nova, on the controller over gRPC and on the controller's own os-aggregates REST
 * facade, in alternating rounds with the same load shape, at concurrency 1 (a CLI, a script) and
 * at --concurrency. The ×Nova ratios of calls/s and of server CPU per call are printed; the
 * targets (docs/benchmarks.md §Targets): read API ≥ 20× Nova's calls/s, and server CPU per call
 * ≥ 20× less than Nova's on every call (issue 13), on both protocols. Each call is also measured on
 * its floors, a bare grpc-js server and a bare node:http server sending the controller's answer bytes
 * and committing one SQLite row per write (bench/raw-grpc-server.ts, bench/raw-http-server.ts): what
 * the call costs on each protocol here before any of the controller's own work; and gRPC also on
 * node:http2 with no gRPC library (bench/raw-h2-grpc-server.ts): the floor under grpc-js itself.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { toBinary } from "@bufbuild/protobuf";
import { AggregateSchema, ListAggregatesResponseSchema } from "../../gen/hostaggregates/v1/aggregate_pb.js";
import { cpuRatio, perRound, printComparisons, throughputRatio, type ComparedRow } from "../lib/compare-table.js";
import { alternate, type Subject } from "../lib/measure.js";
import type { GrpcCall, HttpCall, LoadShape, LoadSpec } from "../lib/load-spec.js";
import { novaCall, startNovaPeer, type NovaPeer } from "../lib/nova-peer.js";
import { num, ratio } from "../lib/report.js";
import type { BenchContext, BenchSection } from "../lib/section.js";
import { adminClient, inPool, seedAggregate, seedController } from "../lib/seed.js";
import { startControllerProcess, startRawGrpcProcess, startRawH2GrpcProcess, startRawHttpProcess, type ControllerProcess } from "../lib/servers.js";
import { seededAggregates } from "./read-api.js";

/** Read API throughput must reach this multiple of Nova's (docs/benchmarks.md §Targets). */
export const novaReadTarget = 20;
/** Server CPU per call must be at most this fraction of Nova's, on every call (issue 13). */
export const novaCpuTarget = 20;

/** Aggregates each subject gets per round and concurrency to delete. */
const deletable = { nova: 40, controller: 150 };

/** One call of the workload on the three subjects; `round` makes names unique and picks the ids to delete. */
interface WorkloadCall {
  label: string;
  /** At most this many in flight (lists: the answers are large). */
  maxConcurrency?: number;
  warmup: { nova: number; controller: number };
  /** One id per call, used once: maxCalls is the number of ids, and there is no warm-up. */
  consumesIds?: boolean;
  /** A write (measured after the reads; its floor commits one SQLite row per call). */
  write?: boolean;
  nova: (round: number, concurrency: number) => HttpCall;
  grpc: (round: number, concurrency: number) => GrpcCall;
  rest: (round: number, concurrency: number) => HttpCall;
}

/** Creates aggregates on Nova to be deleted; returns their ids. */
async function novaDeletable(nova: NovaPeer, prefix: string, count: number): Promise<number[]> {
  const ids: number[] = [];
  await inPool(Array.from({ length: count }, (_, i) => i), 4, async (i) => {
    const created = (await novaCall(nova, "POST", "/os-aggregates", { aggregate: { name: `${prefix}-${i}` } })) as { aggregate: { id: number } };
    ids.push(created.aggregate.id);
  });
  return ids;
}

/** Creates aggregates on the controller to be deleted; returns their ids. */
async function controllerDeletable(controller: ControllerProcess, prefix: string, count: number): Promise<number[]> {
  const api = adminClient(controller);
  const ids: number[] = [];
  await inPool(Array.from({ length: count }, (_, i) => i), 8, async (i) => {
    ids.push(Number((await api.createAggregate({ name: `${prefix}-${i}` })).id));
  });
  return ids;
}

export const novaSection: BenchSection = {
  name: "nova",
  title: `Aggregate API vs OpenStack Nova 26 os-aggregates, op by op, measured in this run (${seededAggregates} aggregates)`,
  enabled: (options) => options.nova,
  async run(ctx: BenchContext): Promise<void> {
    const { report, options, load } = ctx;

    let nova: NovaPeer;
    try {
      nova = await startNovaPeer((note) => report.progress(note));
    } catch (err) {
      report.line(`Nova could not be started here, so it was not measured: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    report.progress(`seeding Nova with ${seededAggregates} aggregates with metadata`);
    const novaIds: number[] = [];
    await inPool(
      Array.from({ length: seededAggregates }, (_, i) => i + 1),
      4,
      async (i) => {
        const seed = seedAggregate(i);
        const created = (await novaCall(nova, "POST", "/os-aggregates", {
          aggregate: { name: seed.name, availability_zone: seed.availabilityZone },
        })) as { aggregate: { id: number } };
        const id = created.aggregate.id;
        await novaCall(nova, "POST", `/os-aggregates/${id}/action`, { set_metadata: { metadata: seed.metadata } });
        novaIds.push(id);
      },
    );
    novaIds.sort((a, b) => a - b);

    report.progress("starting a controller (gRPC and the REST facade)");
    const controller = await startControllerProcess({ dir: join(ctx.tmpDir, "nova"), cpuProfileDir: options.cpuProfileDir, rest: true });
    report.progress(`seeding the controller with ${seededAggregates} aggregates`);
    const ids = await seedController(controller, seededAggregates);

    // The floors of each call: bare grpc-js and bare node:http answering the controller's own answers (the
    // same bytes), committing one SQLite row per write.
    report.progress("starting the floors: the raw grpc-js and node:http servers");
    const api = adminClient(controller);
    const floorDir = join(ctx.tmpDir, "nova-floor");
    mkdirSync(floorDir, { recursive: true });
    writeFileSync(join(floorDir, "aggregate.bin"), toBinary(AggregateSchema, await api.getAggregate({ id: BigInt(ids[0]!) })));
    writeFileSync(join(floorDir, "list.bin"), toBinary(ListAggregatesResponseSchema, await api.listAggregates({ pageSize: seededAggregates })));
    const floor = await startRawGrpcProcess({ aggregate: join(floorDir, "aggregate.bin"), list: join(floorDir, "list.bin"), db: join(floorDir, "writes.db"), asBytes: true });
    const restHeaders = { "x-auth-token": controller.adminToken, "x-openstack-nova-api-version": "2.41" };
    const restText = async (path: string) => {
      const res = await fetch(`${controller.restBaseUrl!}${path}`, { headers: restHeaders });
      if (!res.ok) throw new Error(`GET ${path} on the controller's REST facade: HTTP ${res.status}`);
      return res.text();
    };
    writeFileSync(join(floorDir, "aggregate.json"), await restText(`/os-aggregates/${ids[0]!}`));
    writeFileSync(join(floorDir, "list.json"), await restText("/os-aggregates"));
    const restFloor = await startRawHttpProcess({ aggregate: join(floorDir, "aggregate.json"), list: join(floorDir, "list.json"), db: join(floorDir, "rest-writes.db") });
    const h2Floor = await startRawH2GrpcProcess({ aggregate: join(floorDir, "aggregate.bin"), list: join(floorDir, "list.bin"), db: join(floorDir, "h2-writes.db") });

    const levels = [...new Set([1, options.concurrency])];
    const toDelete = new Map<string, number[]>();
    const createDeletables = async () => {
      report.progress(`creating the aggregates each subject deletes (${levels.length} concurrency levels × ${options.rounds} rounds)`);
      for (const c of levels) {
        for (let round = 0; round < options.rounds; round++) {
          toDelete.set(`nova/${c}/${round}`, await novaDeletable(nova, `bench-del-c${c}-r${round}`, deletable.nova));
          for (const api of ["grpc", "rest"]) {
            toDelete.set(`${api}/${c}/${round}`, await controllerDeletable(controller, `bench-del-${api}-c${c}-r${round}`, deletable.controller));
          }
        }
      }
    };
    const deleteIds = (subject: string, round: number, c: number) => toDelete.get(`${subject}/${c}/${round}`)!;

    const calls: WorkloadCall[] = [
      {
        label: "show / GetAggregate",
        warmup: { nova: 50, controller: 1000 },
        nova: () => ({ method: "show", ids: novaIds }),
        grpc: () => ({ method: "GetAggregate", ids }),
        rest: () => ({ method: "show", ids }),
      },
      {
        label: `list of ${seededAggregates} / ListAggregates`,
        maxConcurrency: 4,
        warmup: { nova: 4, controller: 20 },
        nova: () => ({ method: "list" }),
        grpc: () => ({ method: "ListAggregates", pageSize: seededAggregates }),
        rest: () => ({ method: "list" }),
      },
      {
        label: "create / CreateAggregate",
        write: true,
        warmup: { nova: 20, controller: 100 },
        nova: (round, c) => ({ method: "create", namePrefix: `bench-new-c${c}-r${round}`, availabilityZone: "az-new" }),
        grpc: (round, c) => ({ method: "CreateAggregate", namePrefix: `bench-new-c${c}-r${round}`, availabilityZone: "az-new" }),
        rest: (round, c) => ({ method: "create", namePrefix: `bench-rest-c${c}-r${round}`, availabilityZone: "az-new" }),
      },
      {
        label: "update / UpdateAggregate",
        write: true,
        warmup: { nova: 20, controller: 100 },
        nova: (round, c) => ({ method: "update", ids: novaIds, namePrefix: `bench-upd-c${c}-r${round}` }),
        grpc: (round, c) => ({ method: "UpdateAggregate", ids, namePrefix: `bench-upd-c${c}-r${round}` }),
        rest: (round, c) => ({ method: "update", ids, namePrefix: `bench-rupd-c${c}-r${round}` }),
      },
      {
        label: "set_metadata / SetAggregateMetadata",
        write: true,
        warmup: { nova: 20, controller: 100 },
        nova: () => ({ method: "set_metadata", ids: novaIds }),
        grpc: () => ({ method: "SetAggregateMetadata", ids }),
        rest: () => ({ method: "set_metadata", ids }),
      },
      {
        label: "delete / DeleteAggregate",
        write: true,
        consumesIds: true,
        warmup: { nova: 0, controller: 0 },
        nova: (round, c) => ({ method: "delete", ids: deleteIds("nova", round, c) }),
        grpc: (round, c) => ({ method: "DeleteAggregate", ids: deleteIds("grpc", round, c) }),
        rest: (round, c) => ({ method: "delete", ids: deleteIds("rest", round, c) }),
      },
    ];

    const shape = (c: number, warmupCalls: number, call: HttpCall | GrpcCall, consumesIds = false): LoadShape => ({
      concurrency: c,
      warmupCalls: consumesIds ? 0 : warmupCalls,
      maxCalls: consumesIds && "ids" in call ? call.ids.length : 100_000,
      maxSeconds: options.seconds,
    });
    const subjectsOf = (call: WorkloadCall, c: number): Subject[] => [
      {
        name: "Nova",
        spec: (round): LoadSpec => {
          const http = call.nova(round, c);
          return { target: "http", baseUrl: nova.baseUrl, headers: nova.headers, serverPids: nova.pids, call: http, callTimeoutMs: 30_000, ...shape(c, call.warmup.nova, http, call.consumesIds) };
        },
      },
      {
        name: "controller gRPC",
        spec: (round): LoadSpec => {
          const grpc = call.grpc(round, c);
          return { target: "grpc", address: controller.address, token: controller.adminToken, serverPids: [controller.child.process.pid!], call: grpc, ...shape(c, call.warmup.controller, grpc, call.consumesIds) };
        },
      },
      {
        name: "controller REST",
        spec: (round): LoadSpec => {
          const http = call.rest(round, c);
          return { target: "http", baseUrl: controller.restBaseUrl!, headers: restHeaders, serverPids: [controller.child.process.pid!], call: http, ...shape(c, call.warmup.controller, http, call.consumesIds) };
        },
      },
      // The floors; for a write at 1 in flight only: with more, the controller's writes share commits and the floors' do not.
      ...(!call.write || c === 1
        ? [
            {
              name: "floor: bare grpc-js",
              spec: (round: number): LoadSpec => {
                const grpc = call.grpc(round, c);
                return { target: "grpc", address: floor.address, serverPids: [floor.child.process.pid!], call: grpc, ...shape(c, call.warmup.controller, grpc, call.consumesIds) };
              },
            },
            {
              name: "floor: bare node:http",
              spec: (round: number): LoadSpec => {
                const http = call.rest(round, c);
                return { target: "http", baseUrl: `${restFloor.address}/v2.1`, headers: restHeaders, serverPids: [restFloor.child.process.pid!], call: http, ...shape(c, call.warmup.controller, http, call.consumesIds) };
              },
            },
            {
              name: "floor: gRPC on bare node:http2",
              spec: (round: number): LoadSpec => {
                const grpc = call.grpc(round, c);
                return { target: "grpc", address: h2Floor.address, serverPids: [h2Floor.child.process.pid!], call: grpc, ...shape(c, call.warmup.controller, grpc, call.consumesIds) };
              },
            },
          ]
        : []),
    ];

    const rows: Array<ComparedRow & { concurrency: number; call: WorkloadCall }> = [];
    const measure = async (call: WorkloadCall, c: number) => {
      const inFlight = Math.min(c, call.maxConcurrency ?? c);
      const label = `${call.label} @${inFlight}`;
      const result = await alternate(load, options.rounds, subjectsOf(call, inFlight), (round, subject, r) =>
        report.progress(`${label} round ${round + 1}/${options.rounds} ${subject.name}: ${num(r.callsPerSecond)} calls/s${r.errors ? `, ${r.errors} errors` : ""}`),
      );
      rows.push({ label, result, concurrency: c, call });
    };
    // The reads first, while Nova and the controller hold the same 500 aggregates: a list answers them
    // all, and the write rounds create hundreds more on the controller than on Nova.
    for (const c of levels) for (const call of calls.filter((x) => !x.write)) await measure(call, c);
    await createDeletables();
    for (const c of levels) for (const call of calls.filter((x) => x.write)) await measure(call, c);

    report.line(
      `medians of ${options.rounds} alternating rounds ≤ ${options.seconds} s; the same load shape for every subject (lists at most 4 in flight); ` +
        "Nova and the REST facade over HTTP/1.1 keep-alive, gRPC over HTTP/2; deletes: each id once, no warm-up",
    );
    printComparisons(report, rows);

    report.line("\n× Nova, measured in this run — calls/s: median of the per-round ratios; CPU: Nova's server CPU per call / the controller's (> 1: cheaper)");
    report.table(
      ["call", "gRPC calls/s × Nova", "gRPC CPU × Nova", "REST calls/s × Nova", "REST CPU × Nova", "gRPC floor CPU × Nova", "node:http2 floor CPU × Nova", "REST floor CPU × Nova", "gRPC / REST CPU − floor µs"],
      rows.map(({ label, result }) => {
        const above = (api: number, floorAt: number) => num((result.measured[api]!.serverCpuUsPerCall ?? NaN) - (result.measured[floorAt]!.serverCpuUsPerCall ?? NaN));
        const floors = result.measured[3] ? [ratio(cpuRatio(result, 3)), ratio(cpuRatio(result, 5)), ratio(cpuRatio(result, 4)), `${above(1, 3)} / ${above(2, 4)}`] : ["–", "–", "–", "–"];
        return [label, ratio(throughputRatio(result, 1)), ratio(cpuRatio(result, 1)), ratio(throughputRatio(result, 2)), ratio(cpuRatio(result, 2)), ...floors];
      }),
    );
    report.line(
      "(floors: a bare grpc-js server, gRPC answered on bare node:http2 with no gRPC library, and a bare node:http server, each sending the controller's answer bytes as they are, and for a write first committing one SQLite row, WAL and " +
        "synchronous=FULL like the controller — no call here costs less, and at 1 in flight no durable write; at more in flight the controller's writes share commits, so writes have no floor there)",
    );
    const show = rows.find((r) => r.call === calls[0] && r.concurrency === options.concurrency)!.result;
    report.check(
      `GetAggregate @${options.concurrency} × Nova show calls/s`,
      throughputRatio(show),
      novaReadTarget,
      `(${perRound(show, 1, 1)}; CPU cost ratio ${ratio(cpuRatio(show))})`,
      `CPU cost ratio ${ratio(cpuRatio(show))}`,
    );
    for (const { label, result, call } of rows) {
      for (const [i, api, floorAt, floorName] of [[1, "gRPC", 3, "grpc-js"], [2, "REST", 4, "node:http"]] as const) {
        const floorRatio = result.measured[floorAt] ? ratio(cpuRatio(result, floorAt)) : undefined;
        const h2Note = api === "gRPC" && result.measured[5] ? `, on bare node:http2 ${ratio(cpuRatio(result, 5))}` : "";
        const floorNote = floorRatio ? `; its floor, bare ${floorName}${call.write ? " + 1 commit" : ""}: ${floorRatio}${h2Note}` : "";
        report.check(`${label} ${api}: Nova server CPU per call ÷ the controller's`, cpuRatio(result, i), novaCpuTarget, `(${perRound(result, i, 1)} calls/s ratios${floorNote})`, floorRatio ? `floor ${floorRatio}` : undefined);
      }
    }
    for (const { label, result } of rows) {
      report.record(label, {
        nova: result.measured[0],
        grpc: result.measured[1],
        rest: result.measured[2],
        grpcRatio: throughputRatio(result, 1),
        grpcCpuRatio: cpuRatio(result, 1),
        restRatio: throughputRatio(result, 2),
        restCpuRatio: cpuRatio(result, 2),
        ...(result.measured[3]
          ? {
              grpcFloor: result.measured[3],
              grpcFloorCpuRatio: cpuRatio(result, 3),
              restFloor: result.measured[4],
              restFloorCpuRatio: cpuRatio(result, 4),
              h2Floor: result.measured[5],
              h2FloorCpuRatio: cpuRatio(result, 5),
            }
          : {}),
      });
    }

    await Promise.all([controller.child.stop(), floor.child.stop(), restFloor.child.stop(), h2Floor.child.stop(), nova.stop()]);
  },
};
