/**
 * Issue 2 (point 10): the aggregate API against a bare echo server on the same serving stack.
 *
 * One controller process (fresh SQLite database, random tokens) is seeded with 500 aggregates
 * through the API; an echo process (bench/echo-server.ts) answers the controller's own messages
 * pre-built, and a raw @grpc/grpc-js server (bench/raw-grpc-server.ts, no project code) the same
 * bytes. GetAggregate, ListAggregates (one page of 500) and CreateAggregate are measured on all
 * three in alternating rounds, at the configured concurrency and at 1 call in flight; the medians,
 * server CPU per call and the controller/echo and echo/raw ratios are printed, with the GetAggregate
 * target (≥ 0.8× echo) and the adapter target (≤ 1.2× raw grpc-js CPU) checked, and the figures are
 * set against Nova's.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { toBinary } from "@bufbuild/protobuf";
import { AggregateSchema, ListAggregatesResponseSchema } from "../../gen/hostaggregates/v1/aggregate_pb.js";
import { cpuRatio, perRound, printComparisons, throughputRatio, type ComparedRow } from "../lib/compare-table.js";
import { alternate, type Measured, type Subject } from "../lib/measure.js";
import type { GrpcCall, LoadResult, LoadShape } from "../lib/load-spec.js";
import { num, ratio } from "../lib/report.js";
import { adminClient, seedController } from "../lib/seed.js";
import type { BenchContext, BenchSection } from "../lib/section.js";
import { startControllerProcess, startEchoProcess, startRawGrpcProcess } from "../lib/servers.js";

/** Our adapter's per-call server CPU may be at most this multiple of a bare grpc-js server's (issue 13). */
export const adapterTarget = 1.2;
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
    report.progress("starting the echo server and the raw grpc-js server");
    const echo = await startEchoProcess({ aggregate: aggregateFile, list: listFile });
    const raw = await startRawGrpcProcess({ aggregate: aggregateFile, list: listFile });

    const shape = (concurrency: number, warmupCalls: number): LoadShape => ({
      concurrency,
      warmupCalls,
      maxCalls: 100_000,
      maxSeconds: options.seconds,
    });
    // All servers get the same requests and the same authorization header. Echo first: ratios are to it.
    const servers = [
      { name: "echo", address: echo.address, pid: echo.child.process.pid },
      { name: "controller", address: controller.address, pid: controller.child.process.pid },
      { name: "raw grpc-js", address: raw.address, pid: raw.child.process.pid },
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

    // The configured concurrency first (it warms the servers up), then one call at a time (a CLI, a script).
    const concurrencies = [...new Set([options.concurrency, 1])];
    const listConcurrency = (c: number) => Math.min(4, c);
    const warm = (c: number, calls: number) => (c === options.concurrency ? calls : Math.ceil(calls / 10));
    const rows: (ComparedRow & { key: string; concurrency: number })[] = [];
    for (const c of concurrencies) {
      const at = `@${c}`;
      rows.push({
        key: `getAggregate${at}`,
        concurrency: c,
        label: `GetAggregate ${at}`,
        result: await alternate(load, options.rounds, subjects(() => ({ method: "GetAggregate", ids }), shape(c, warm(c, 2000))), progress(`GetAggregate ${at}`)),
      });
    }
    for (const c of concurrencies) {
      const at = `@${listConcurrency(c)}`;
      rows.push({
        key: `listAggregates${at}`,
        concurrency: listConcurrency(c),
        label: `ListAggregates (${seededAggregates}) ${at}`,
        result: await alternate(
          load,
          options.rounds,
          subjects(() => ({ method: "ListAggregates", pageSize: seededAggregates }), shape(listConcurrency(c), warm(c, 20))),
          progress(`ListAggregates ${at}`),
        ),
      });
    }
    for (const c of concurrencies) {
      const at = `@${c}`;
      rows.push({
        key: `createAggregate${at}`,
        concurrency: c,
        label: `CreateAggregate ${at}`,
        result: await alternate(
          load,
          options.rounds,
          // Names are unique across rounds and concurrencies: bench-new-c<c>-r<round>-<n>.
          subjects((round) => ({ method: "CreateAggregate", namePrefix: `bench-new-c${c}-r${round}`, availabilityZone: "az-new" }), shape(c, warm(c, 100))),
          progress(`CreateAggregate ${at}`),
        ),
      });
    }

    report.line(
      `medians of ${options.rounds} alternating rounds, each ≤ ${options.seconds} s after a warm-up; ` +
        `@N = N calls in flight (lists at most 4) from one grpc-js client process`,
    );
    printComparisons(report, rows);

    report.line("\nratios — calls/s: median of the per-round ratios; CPU: the other server's CPU per call / this one's (> 1: cheaper)");
    report.line("(echo = our gRPC stack and adapter with a pre-built answer: no auth, no validation, no SQLite, no record → message conversion;");
    report.line(" raw grpc-js = @grpc/grpc-js and protobuf-es alone, same answer bytes: echo / raw is what our adapter costs)");
    report.table(
      ["call", "controller/echo calls/s", "controller/echo CPU", "calls/s per round", "echo/raw calls/s", "adapter cost: echo CPU ÷ raw CPU"],
      rows.map(({ label, result }) => [
        label,
        ratio(throughputRatio(result)),
        ratio(cpuRatio(result)),
        perRound(result).replace("per round: ", ""),
        ratio(1 / throughputRatio(result, 2)),
        `${ratio(cpuRatio(result, 2))}`,
      ]),
    );
    const rowOf = (key: string) => rows.find((r) => r.key === key)!.result;
    const get = rowOf(`getAggregate@${options.concurrency}`);
    const list = rowOf(`listAggregates@${listConcurrency(options.concurrency)}`);
    const create = rowOf(`createAggregate@${options.concurrency}`);
    const getRatio = throughputRatio(get);
    report.check(
      `GetAggregate @${options.concurrency} controller/echo calls/s`,
      getRatio,
      getAggregateTarget,
      `(${perRound(get)}; CPU cost ratio ${ratio(cpuRatio(get))})`,
      `CPU cost ratio ${ratio(cpuRatio(get))}`,
    );
    for (const c of concurrencies) {
      const r = rowOf(`getAggregate@${c}`);
      // cpuRatiosToFirst of raw = echo CPU / raw CPU; the target is ≤ 1.2, checked as raw/echo ≥ 1/1.2.
      report.check(`GetAggregate @${c} raw grpc-js / echo server CPU per call (adapter ≤ ${adapterTarget}× raw)`, 1 / cpuRatio(r, 2), 1 / adapterTarget, `(adapter cost ${ratio(cpuRatio(r, 2))})`);
    }

    const [getC, listC, createC] = [get.measured[1]!, list.measured[1]!, create.measured[1]!];
    report.line("\ncontroller vs OpenStack Nova 26 os-aggregates — vs figures measured earlier on this machine (docs/benchmarks.md §Targets), NOT in this run:");
    const range = (value: number, p: { low: number; high: number }) =>
      p.low === p.high ? `${ratio(value / p.low)}` : `${ratio(value / p.high)} – ${ratio(value / p.low)}`;
    const cpu = (m: Measured) => (m.serverCpuUsPerCall === undefined ? "–" : num(m.serverCpuUsPerCall));
    const published = (p: { low: number; high: number }) => (p.low === p.high ? `${p.low}/s` : `${p.low}–${p.high}/s`);
    report.table(
      ["call", "controller calls/s", "controller server CPU µs/call", "Nova (published)", "× Nova"],
      [
        ["GetAggregate vs show", num(getC.callsPerSecond), cpu(getC), published(novaPublished.show), range(getC.callsPerSecond, novaPublished.show)],
        [`ListAggregates(${seededAggregates}) vs list of 500`, num(listC.callsPerSecond), cpu(listC), published(novaPublished.list500), range(listC.callsPerSecond, novaPublished.list500)],
        ["CreateAggregate vs create", num(createC.callsPerSecond), cpu(createC), published(novaPublished.create), range(createC.callsPerSecond, novaPublished.create)],
      ],
    );
    report.line(`(target: read API ≥ 20× Nova; ${options.nova ? "the Nova section below measures Nova in this run" : "run with --nova to measure Nova in this run"})`);

    const results: ReadApiResults = { get: getC, list: listC, create: createC, getRatio };
    ctx.results.set("read-api", results);
    for (const { key, concurrency, result } of rows) {
      report.record(key, {
        concurrency,
        echo: result.measured[0],
        controller: result.measured[1],
        rawGrpc: result.measured[2],
        ratio: throughputRatio(result),
        cpuRatio: cpuRatio(result),
        adapterCpuCost: cpuRatio(result, 2),
        perRound: result.ratiosToFirst[1],
      });
    }

    await Promise.all([echo.child.stop(), raw.child.stop(), controller.child.stop()]);
  },
};
