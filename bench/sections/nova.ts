/**
 * `--nova`: the controller against OpenStack Nova 26's os-aggregates API in the same run.
 *
 * Nova (shared/tools/nova-peer.sh: one nova-api worker, SQLite, noauth2) and a fresh controller
 * are both seeded with the same 500 aggregates (zone + three metadata keys); then show/GetAggregate,
 * list/ListAggregates(500) and create/CreateAggregate are measured on both in alternating rounds
 * with the same load shape, and the ×Nova ratios are printed. The target (docs/benchmarks.md §Targets) is
 * read API ≥ 20× Nova.
 */
import { join } from "node:path";
import { cpuRatio, perRound, printComparisons, throughputRatio } from "../lib/compare-table.js";
import { alternate, type Compared } from "../lib/measure.js";
import type { LoadShape, LoadSpec } from "../lib/load-spec.js";
import { novaCall, startNovaPeer, type NovaPeer } from "../lib/nova-peer.js";
import { num, ratio } from "../lib/report.js";
import type { BenchContext, BenchSection } from "../lib/section.js";
import { inPool, seedAggregate, seedController } from "../lib/seed.js";
import { startControllerProcess } from "../lib/servers.js";
import { seededAggregates } from "./read-api.js";

/** Read API throughput must reach this multiple of Nova's (docs/benchmarks.md §Targets). */
export const novaReadTarget = 20;

export const novaSection: BenchSection = {
  name: "nova",
  title: `Aggregate API vs OpenStack Nova 26 os-aggregates, measured in this run (${seededAggregates} aggregates)`,
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

    report.progress("starting a controller");
    const controller = await startControllerProcess({ dir: join(ctx.tmpDir, "nova"), cpuProfileDir: options.cpuProfileDir });
    report.progress(`seeding the controller with ${seededAggregates} aggregates`);
    const ids = await seedController(controller, seededAggregates);

    const shape = (concurrency: number, warmupCalls: number): LoadShape => ({ concurrency, warmupCalls, maxCalls: 100_000, maxSeconds: options.seconds });
    const listConcurrency = Math.min(4, options.concurrency);
    const novaSpec = (call: Extract<LoadSpec, { target: "http" }>["call"], s: LoadShape): LoadSpec => ({
      target: "http",
      baseUrl: nova.baseUrl,
      headers: nova.headers,
      serverPids: nova.pids,
      call,
      ...s,
      callTimeoutMs: 30_000,
    });
    const controllerSpec = (call: Extract<LoadSpec, { target: "grpc" }>["call"], s: LoadShape): LoadSpec => ({
      target: "grpc",
      address: controller.address,
      token: controller.adminToken,
      serverPids: [controller.child.process.pid!],
      call,
      ...s,
    });
    const progress = (method: string) => (round: number, subject: { name: string }, r: { callsPerSecond: number; errors: number }) =>
      report.progress(`${method} round ${round + 1}/${options.rounds} ${subject.name}: ${num(r.callsPerSecond)} calls/s${r.errors ? `, ${r.errors} errors` : ""}`);

    const comparisons = [
      {
        label: "show / GetAggregate",
        result: await alternate(
          load,
          options.rounds,
          [
            { name: "Nova", spec: novaSpec({ method: "show", ids: novaIds }, shape(options.concurrency, 50)) },
            { name: "controller", spec: controllerSpec({ method: "GetAggregate", ids }, shape(options.concurrency, 1000)) },
          ],
          progress("show/GetAggregate"),
        ),
      },
      {
        label: `list of ${seededAggregates} / ListAggregates`,
        result: await alternate(
          load,
          options.rounds,
          [
            { name: "Nova", spec: novaSpec({ method: "list" }, shape(listConcurrency, 4)) },
            { name: "controller", spec: controllerSpec({ method: "ListAggregates", pageSize: seededAggregates }, shape(listConcurrency, 20)) },
          ],
          progress("list/ListAggregates"),
        ),
      },
      {
        label: "create / CreateAggregate",
        result: await alternate(
          load,
          options.rounds,
          [
            { name: "Nova", spec: (round) => novaSpec({ method: "create", namePrefix: `bench-new-r${round}`, availabilityZone: "az-new" }, shape(options.concurrency, 20)) },
            { name: "controller", spec: (round) => controllerSpec({ method: "CreateAggregate", namePrefix: `bench-new-r${round}`, availabilityZone: "az-new" }, shape(options.concurrency, 100)) },
          ],
          progress("create/CreateAggregate"),
        ),
      },
    ];

    report.line(
      `medians of ${options.rounds} alternating rounds ≤ ${options.seconds} s; same load shape for both ` +
        `(${options.concurrency} in flight, ${listConcurrency} for lists); Nova over HTTP/1.1 keep-alive, the controller over gRPC`,
    );
    printComparisons(report, comparisons);

    report.line("\ncontroller × Nova, measured in this run — calls/s: median of the per-round ratios; CPU: Nova's server CPU per call / the controller's");
    const [show, list, create] = comparisons.map((c) => c.result) as [Compared, Compared, Compared];
    const detail = (c: Compared) => `(${perRound(c, 1, 1)}; CPU cost ratio ${ratio(cpuRatio(c))})`;
    report.check("GetAggregate × Nova show calls/s", throughputRatio(show), novaReadTarget, detail(show), `CPU cost ratio ${ratio(cpuRatio(show))}`);
    report.line(`ListAggregates(${seededAggregates}) × Nova list calls/s: ${ratio(throughputRatio(list))}  read API, no separate target  ${detail(list)}`);
    report.line(`CreateAggregate × Nova create calls/s: ${ratio(throughputRatio(create))}  no target  ${detail(create)}`);
    for (const [key, c] of [["show", show], ["list", list], ["create", create]] as const) {
      report.record(key, { nova: c.measured[0], controller: c.measured[1], ratio: throughputRatio(c), cpuRatio: cpuRatio(c), perRound: c.ratiosToFirst[1] });
    }

    await Promise.all([controller.child.stop(), nova.stop()]);
  },
};
