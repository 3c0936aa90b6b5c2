/**
 * Issue 2 (point 10): the aggregate API against a bare echo server on the same serving stack.
 *
 * One controller process (fresh SQLite database, random tokens) is seeded with 500 aggregates
 * through the API; an echo process (bench/echo-server.ts) answers the controller's own messages
 * pre-built. GetAggregate, ListAggregates (one page of 500) and CreateAggregate are measured on
 * both in alternating rounds; the medians and the controller/echo ratios are printed, with the
 * GetAggregate target (≥ 0.8× echo) checked, and the figures are set against Nova's.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { toBinary } from "@bufbuild/protobuf";
import { AggregateSchema, ListAggregatesResponseSchema } from "../../gen/hostaggregates/v1/aggregate_pb.js";
import { cpuRatio, perRound, printComparisons, throughputRatio } from "../lib/compare-table.js";
import { alternate, type Measured, type Subject } from "../lib/measure.js";
import type { GrpcCall, LoadResult, LoadShape } from "../lib/load-spec.js";
import { num, ratio } from "../lib/report.js";
import { adminClient, seedController } from "../lib/seed.js";
import type { BenchContext, BenchSection } from "../lib/section.js";
import { startControllerProcess, startEchoProcess } from "../lib/servers.js";

/** Aggregates in the database while reads are measured. */
export const seededAggregates = 500;
/** GetAggregate on the controller must reach this fraction of the echo server's calls/s. */
export const getAggregateTarget = 0.8;

/** Nova 26 os-aggregates on this machine, measured before this project (docs/benchmarks.md §Targets), in calls/s. */
export const novaPublished = {
  show: { low: 140, high: 245 },
  create: { low: 75, high: 75 },
  list500: { low: 15, high: 20 },
} as const;

/** Controller figures this section publishes in ctx.results under "read-api". */
export interface ReadApiResults {
  get: Measured;
  list: Measured;
  create: Measured;
  /** Median of the per-round controller/echo ratios. */
  getRatio: number;
}

export const readApiSection: BenchSection = {
  name: "read-api",
  title: `Aggregate API vs a bare echo server on the same stack (gRPC, ${seededAggregates} aggregates)`,
  async run(ctx: BenchContext): Promise<void> {
    const { report, options, load } = ctx;
    const dir = join(ctx.tmpDir, "read-api");

    report.progress("starting the controller");
    const controller = await startControllerProcess({ dir, cpuProfileDir: options.cpuProfileDir });
    report.progress(`seeding ${seededAggregates} aggregates with metadata through the API`);
    const ids = await seedController(controller, seededAggregates);
    const api = adminClient(controller);

    // The echo server answers the controller's own messages, so both send the same bytes.
    const sample = await api.getAggregate({ id: BigInt(ids[ids.length >> 1]!) });
    const page = await api.listAggregates({ pageSize: seededAggregates });
    if (page.aggregates.length !== seededAggregates) throw new Error(`ListAggregates returned ${page.aggregates.length} aggregates, expected ${seededAggregates}`);
    const aggregateFile = join(dir, "aggregate.bin");
    const listFile = join(dir, "list.bin");
    writeFileSync(aggregateFile, toBinary(AggregateSchema, sample));
    writeFileSync(listFile, toBinary(ListAggregatesResponseSchema, page));
    report.progress("starting the echo server");
    const echo = await startEchoProcess({ aggregate: aggregateFile, list: listFile });

    const shape = (concurrency: number, warmupCalls: number): LoadShape => ({
      concurrency,
      warmupCalls,
      maxCalls: 100_000,
      maxSeconds: options.seconds,
    });
    // Both servers get the same requests and the same authorization header.
    const servers = [
      { name: "echo", address: echo.address, pid: echo.child.process.pid },
      { name: "controller", address: controller.address, pid: controller.child.process.pid },
    ];
    const subjects = (call: (round: number) => GrpcCall, s: LoadShape): Subject[] =>
      servers.map((server) => ({
        name: server.name,
        spec: (round: number) => ({ target: "grpc", address: server.address, token: controller.adminToken, serverPids: [server.pid!], call: call(round), ...s }),
      }));
    const progress = (method: string) => (round: number, subject: Subject, r: LoadResult) =>
      report.progress(
        `${method} round ${round + 1}/${options.rounds} ${subject.name}: ${num(r.callsPerSecond)} calls/s` +
          (r.serverCpuUsPerCall !== undefined ? `, ${num(r.serverCpuUsPerCall)} µs server CPU/call` : "") +
          (r.errors ? `, ${r.errors} errors` : ""),
      );

    const listConcurrency = Math.min(4, options.concurrency);
    const get = await alternate(load, options.rounds, subjects(() => ({ method: "GetAggregate", ids }), shape(options.concurrency, 2000)), progress("GetAggregate"));
    const list = await alternate(
      load,
      options.rounds,
      subjects(() => ({ method: "ListAggregates", pageSize: seededAggregates }), shape(listConcurrency, 20)),
      progress("ListAggregates"),
    );
    const create = await alternate(
      load,
      options.rounds,
      // Names are unique across rounds: bench-new-r<round>-<n>.
      subjects((round) => ({ method: "CreateAggregate", namePrefix: `bench-new-r${round}`, availabilityZone: "az-new" }), shape(options.concurrency, 100)),
      progress("CreateAggregate"),
    );

    report.line(
      `medians of ${options.rounds} alternating rounds, each ≤ ${options.seconds} s after a warm-up; ` +
        `${options.concurrency} calls in flight (${listConcurrency} for ListAggregates) from one grpc-js client process`,
    );
    printComparisons(report, [
      { label: "GetAggregate", result: get },
      { label: `ListAggregates (${seededAggregates})`, result: list },
      { label: "CreateAggregate", result: create },
    ]);

    report.line("\ncontroller / echo — calls/s: median of the per-round ratios; CPU: echo's server CPU per call / the controller's");
    report.line("(echo = the same gRPC stack with a pre-built answer: no auth, no validation, no SQLite, no record → message conversion)");
    const getRatio = throughputRatio(get);
    report.check(
      "GetAggregate controller/echo calls/s",
      getRatio,
      getAggregateTarget,
      `(${perRound(get)}; CPU cost ratio ${ratio(cpuRatio(get))})`,
      `CPU cost ratio ${ratio(cpuRatio(get))}`,
    );
    report.line(`ListAggregates(${seededAggregates}) controller/echo calls/s: ${ratio(throughputRatio(list))}  no target  (${perRound(list)}; CPU cost ratio ${ratio(cpuRatio(list))})`);
    report.line(
      `CreateAggregate controller/echo calls/s: ${ratio(throughputRatio(create))}  no target; one synchronous=FULL SQLite transaction per call  ` +
        `(${perRound(create)}; CPU cost ratio ${ratio(cpuRatio(create))})`,
    );

    const [getC, listC, createC] = [get.measured[1]!, list.measured[1]!, create.measured[1]!];
    report.line("\ncontroller vs OpenStack Nova 26 os-aggregates — vs figures measured earlier on this machine (docs/benchmarks.md §Targets), NOT in this run:");
    const range = (value: number, p: { low: number; high: number }) =>
      p.low === p.high ? `${ratio(value / p.low)}` : `${ratio(value / p.high)} – ${ratio(value / p.low)}`;
    const published = (p: { low: number; high: number }) => (p.low === p.high ? `${p.low}/s` : `${p.low}–${p.high}/s`);
    report.table(
      ["call", "controller calls/s", "Nova (published)", "× Nova"],
      [
        ["GetAggregate vs show", num(getC.callsPerSecond), published(novaPublished.show), range(getC.callsPerSecond, novaPublished.show)],
        [`ListAggregates(${seededAggregates}) vs list of 500`, num(listC.callsPerSecond), published(novaPublished.list500), range(listC.callsPerSecond, novaPublished.list500)],
        ["CreateAggregate vs create", num(createC.callsPerSecond), published(novaPublished.create), range(createC.callsPerSecond, novaPublished.create)],
      ],
    );
    report.line(`(target: read API ≥ 20× Nova; ${options.nova ? "the Nova section below measures Nova in this run" : "run with --nova to measure Nova in this run"})`);

    const results: ReadApiResults = { get: getC, list: listC, create: createC, getRatio };
    ctx.results.set("read-api", results);
    for (const [key, c] of [["getAggregate", get], ["listAggregates", list], ["createAggregate", create]] as const) {
      report.record(key, { echo: c.measured[0], controller: c.measured[1], ratio: throughputRatio(c), cpuRatio: cpuRatio(c), perRound: c.ratiosToFirst[1] });
    }

    await Promise.all([echo.child.stop(), controller.child.stop()]);
  },
};
