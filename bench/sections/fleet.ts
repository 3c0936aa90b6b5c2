/**
 * Issue 13 (points 4, 6, 7): one controller at fleet scale. 10,200 aggregates (seeded through the
 * store's own code, bench/lib/fleet-seed.ts) and 1,000 simulated hosts (bench/fleet-agents.ts)
 * registered and heartbeating at the production rate (every 10 s: ≈ 100 heartbeats/s), 100 of them
 * pooled two by two in 50 aggregates, so the periodic passes have work. Measured on that controller:
 *
 * - read p50/p99/max of GetAggregate, ListAggregates pages, ListHosts pages and GetHost, each a paced
 *   stream during the heartbeat load, and stalls: gaps > 50 ms between the answers of a GetAggregate
 *   made every 5 ms (an event-loop stall inside the controller cannot be seen from outside otherwise),
 *   from a load client of its own, so that the other streams' garbage collections in the shared client
 *   cannot pause it; beside the controller's own event-loop delay over the window (its /metrics: max and p99);
 * - resident memory (VmRSS, /proc) of a controller idle on an empty database, and with the fleet;
 * - restart on that database: SIGTERM until it exited, then start until the first successful call;
 * - server CPU per Heartbeat vs per GetAggregate: at the production rate, each alone (controller CPU
 *   over the window ÷ calls answered), and back to back at --concurrency in alternating rounds;
 * - GetAggregate server CPU per call at 10,200 aggregates vs on a controller with 200 (alternating rounds;
 *   the big controller's background CPU — the fleet's heartbeats, read alone just before — is taken out).
 */
import { join } from "node:path";
import { cpuRatio, perRound, printComparisons } from "../lib/compare-table.js";
import { startFleetAgents } from "../lib/fleet-agents-process.js";
import { fleetHostName, type FleetLayout } from "../lib/fleet-layout.js";
import { LoadDriver } from "../lib/load-driver.js";
import { seedFleetDatabase } from "../lib/fleet-seed.js";
import type { LoadResult, LoadSpec } from "../lib/load-spec.js";
import { alternate, type Subject } from "../lib/measure.js";
import { processCpuUs, residentMiB } from "../lib/proc-stats.js";
import { ms, num, ratio } from "../lib/report.js";
import { adminClient } from "../lib/seed.js";
import type { BenchContext, BenchSection } from "../lib/section.js";
import { controllerBuild, startControllerProcess, type ControllerProcess } from "../lib/servers.js";
import { scrape } from "../../test/support/metrics-scrape.js";

/** Aggregates on the fleet's controller, and on the small one it is compared with. */
export const fleetAggregates = 10_200;
export const smallAggregates = 200;
/** The simulated fleet: 1,000 hosts, the first 100 pooled (two per aggregate). */
export const fleetLayout: FleetLayout = { hosts: 1000, pooledHosts: 100 };
/** The controller's default heartbeat interval (controller/cli-options.ts): 1,000 hosts → 100 heartbeats/s. */
export const heartbeatIntervalMs = 10_000;

/** Targets (issue 13, Fleet acceptance). */
export const fleetTargets = {
  readP99Ms: 50,
  stallMs: 50,
  rssMiB: 200,
  restartMs: 1000,
  /** GetAggregate CPU at 10,200 aggregates ≤ this multiple of the CPU at 200. */
  scaleCost: 1.2,
} as const;

/** How long the reads are measured under the heartbeat load: two master-failure passes (one per heartbeat interval). */
const loadedWindowSeconds = 2 * (heartbeatIntervalMs / 1000) + 1;
/** Heartbeats per second the fleet sends. */
const heartbeatRate = (fleetLayout.hosts * 1000) / heartbeatIntervalMs;
/** How long the controller's CPU is read with heartbeats only. */
const heartbeatWindowSeconds = 5;
/** How long the big controller's background CPU (the fleet's heartbeats) is read before the 10,200-vs-200 rounds. */
const backgroundWindowSeconds = 3;
/** The stall probe's pace. */
const probeIntervalMs = 5;

const sleep = (msToWait: number) => new Promise((resolve) => setTimeout(resolve, msToWait));

/** The load client's heartbeats: every host of the fleet's layout, in turn. */
const fleetHeartbeat = { method: "Heartbeat", hosts: fleetLayout.hosts, pooledHosts: fleetLayout.pooledHosts } as const;

/** How a warm-up runs: unpaced, unmeasured, up to 1,000 calls in 3 s. */
const warmUpShape = { serverPids: undefined, pacedIntervalMs: undefined, warmupCalls: 0, maxCalls: 1000, maxSeconds: 3 } as const;

/** Unpaced calls that compile a path before it is measured; failed calls are reported, not hidden. */
async function warmUp(ctx: BenchContext, spec: LoadSpec, label: string): Promise<void> {
  const r = await ctx.load.run({ ...spec, ...warmUpShape });
  if (r.errors > 0) ctx.report.line(`WARNING: warming ${label}: ${r.errors} failed calls; first: ${r.firstError}`);
}

/** The controller's major (mark-compact) collections: how many, their pauses' total, and how many paused ≥ 10 ms. */
interface MajorGc {
  count: number;
  totalMs: number;
  atLeast10Ms: number;
}

/** What the controller's /metrics says of its event loop and its collections (see eventLoopDelay). */
interface LoopAndGc {
  maxMs: number;
  p99Ms: number;
  /** Since the process started. */
  majorGc: MajorGc;
}

/**
 * The controller's event-loop delay since the last call (prom-client's monitorEventLoopDelay histogram,
 * which every scrape of /metrics reads and resets) and its major collections so far (prom-client's
 * nodejs_gc_duration_seconds, kind="major"), from its HTTP port with the admin token.
 */
async function eventLoopDelay(controller: ControllerProcess): Promise<LoopAndGc> {
  const metrics = await scrape(`${controller.restBaseUrl!.replace(/\/v2\.1$/, "")}/metrics`, controller.adminToken);
  const major = metrics.families.find((f) => f.name === "nodejs_gc_duration_seconds")?.metrics.find((m) => m.labels?.kind === "major");
  const count = Number(major?.count ?? 0);
  return {
    maxMs: metrics.value("nodejs_eventloop_lag_max_seconds") * 1000,
    p99Ms: metrics.value("nodejs_eventloop_lag_p99_seconds") * 1000,
    majorGc: { count, totalMs: Number(major?.sum ?? 0) * 1000, atLeast10Ms: count - Number(major?.buckets?.["0.01"] ?? 0) },
  };
}

/** The major collections between two readings. */
function majorGcSince(before: MajorGc, after: MajorGc): MajorGc {
  return { count: after.count - before.count, totalMs: after.totalMs - before.totalMs, atLeast10Ms: after.atLeast10Ms - before.atLeast10Ms };
}

/** Makes GetAggregate calls until one succeeds; resolves with when it did (performance.now()). */
async function firstSuccessfulCall(controller: ControllerProcess, id: number, deadlineMs: number): Promise<number> {
  const api = adminClient(controller);
  const giveUpAt = performance.now() + deadlineMs;
  for (;;) {
    try {
      await api.getAggregate({ id: BigInt(id) }, { timeoutMs: 1000 });
      return performance.now();
    } catch (err) {
      if (performance.now() > giveUpAt) throw new Error(`no successful GetAggregate within ${deadlineMs} ms of the restart: ${String(err)}`);
    }
  }
}

export const fleetSection: BenchSection = {
  name: "fleet",
  title: `Fleet: ${num(fleetLayout.hosts)} hosts heartbeating, ${num(fleetAggregates)} aggregates, one controller (SQLite)`,
  // About 100–120 s with the default 7 rounds (registering 1,000 agents alone takes 8–16 s here): run it with --only fleet.
  enabled: () => false,
  async run(ctx: BenchContext): Promise<void> {
    const { report, options, load } = ctx;
    const dir = join(ctx.tmpDir, "fleet");
    const pid = (c: ControllerProcess) => c.child.process.pid!;

    // 1. Resident memory of a controller idle on an empty database.
    report.progress("fleet: a controller on an empty database");
    const empty = await startControllerProcess({ dir: join(dir, "empty") });
    await adminClient(empty).listAggregates({ pageSize: 100 });
    const emptyMemory = residentMiB(pid(empty));
    await empty.child.stop();

    // 2. The databases: the fleet's, and a small one to compare GetAggregate's cost with.
    report.progress(`fleet: seeding ${num(fleetAggregates)} aggregates and ${fleetLayout.pooledHosts} pooled hosts through the store`);
    const bigDir = join(dir, "big");
    const seededAt = performance.now();
    const ids = await seedFleetDatabase(join(bigDir, "controller.db"), fleetAggregates, fleetLayout);
    const seedMs = performance.now() - seededAt;
    const smallDir = join(dir, "small");
    const smallIds = await seedFleetDatabase(join(smallDir, "controller.db"), smallAggregates);

    // 3. The fleet registers and heartbeats. The controller also serves HTTP, for its own event-loop delay (/metrics).
    let controller = await startControllerProcess({ dir: bigDir, cpuProfileDir: options.cpuProfileDir, rest: true });
    const seededMemory = residentMiB(pid(controller));
    report.progress(`fleet: registering ${num(fleetLayout.hosts)} simulated agents`);
    const registeredAt = performance.now();
    const agents = await startFleetAgents(controller, fleetLayout, heartbeatIntervalMs);
    const registerMs = performance.now() - registeredAt;

    // 4. Heartbeats only: the controller's CPU per heartbeat at the production rate.
    report.progress(`fleet: ${heartbeatWindowSeconds} s of heartbeats alone`);
    // Unpaced heartbeats first compile the heartbeat path, as unpaced calls do for GetAggregate in step 7:
    // at 100/s alone, a 5 s lead-in left compilation in the window (1.14 ms a beat, 0.68 after 12 s).
    // Then a lead-in as long as the window, so the window starts on the agents' beats alone.
    await warmUp(ctx, { target: "grpc", address: controller.address, token: controller.agentToken, call: fleetHeartbeat, concurrency: 1, ...warmUpShape }, "Heartbeat");
    await sleep(heartbeatWindowSeconds * 1000);
    const beatsBefore = agents.stats().heartbeats;
    const cpuBefore = processCpuUs(pid(controller))!;
    await sleep(heartbeatWindowSeconds * 1000);
    const beatsInWindow = agents.stats().heartbeats - beatsBefore;
    const heartbeatOnlyCpuUs = processCpuUs(pid(controller))! - cpuBefore;

    // 5. Reads during the heartbeat load: four paced streams and the stall probe, at the same time.
    report.progress(`fleet: ${loadedWindowSeconds} s of reads during the heartbeat load`);
    const standalone = Array.from({ length: fleetLayout.hosts - fleetLayout.pooledHosts }, (_, i) => fleetHostName(fleetLayout.pooledHosts + i));
    const paced = (call: Extract<LoadSpec, { target: "grpc" }>["call"], pacedIntervalMs: number): LoadSpec => ({
      target: "grpc",
      address: controller.address,
      token: controller.adminToken,
      call,
      concurrency: 1,
      warmupCalls: 5,
      maxCalls: 100_000,
      maxSeconds: loadedWindowSeconds,
      pacedIntervalMs,
    });
    const streams: { label: string; spec: LoadSpec }[] = [
      { label: "GetAggregate (every 20 ms, all ids)", spec: paced({ method: "GetAggregate", ids }, 20) },
      { label: "ListAggregates page of 100 (every 50 ms)", spec: paced({ method: "ListAggregates", pageSize: 100 }, 50) },
      { label: "ListHosts page of 100 (every 50 ms)", spec: paced({ method: "ListHosts", pageSize: 100 }, 50) },
      { label: "GetHost, hosts in no aggregate (every 20 ms)", spec: paced({ method: "GetHost", names: standalone }, 20) },
    ];
    // Only the probe's gaps count as stalls: the other streams' pace is itself 20–50 ms. The probe runs in a
    // load client of its own: in the shared one, a major collection of the streams' decoded pages (up to
    // 40 ms measured) paused the probe too, and showed as a stall of the controller that was not one.
    const probeSpec: LoadSpec = { ...paced({ method: "GetAggregate", ids: ids.slice(0, 100) }, probeIntervalMs), gapThresholdMs: fleetTargets.stallMs };
    const reads = [...streams, { label: `stall probe: GetAggregate every ${probeIntervalMs} ms (a client of its own)`, spec: probeSpec }];
    const probeLoad = await LoadDriver.start();
    const loadStats = agents.stats();
    const gcBefore = (await eventLoopDelay(controller)).majorGc; // resets the controller's loop histogram: what it reports next is this window's
    const loadCpuBefore = processCpuUs(pid(controller))!;
    const [streamResults, probeResult] = await Promise.all([load.runTogether(streams.map((r) => r.spec)), probeLoad.run(probeSpec)]);
    const results = [...streamResults, probeResult];
    const loadCpuUs = processCpuUs(pid(controller))! - loadCpuBefore;
    const loopDelay = await eventLoopDelay(controller);
    const majorGc = majorGcSince(gcBefore, loopDelay.majorGc);
    const loadedMemory = residentMiB(pid(controller));
    const afterLoad = agents.stats();
    await probeLoad.stop(); // after the window's figures: its connection's close is not the window's work

    report.line(
      `${num(fleetLayout.hosts)} simulated agents (${fleetLayout.pooledHosts} pooled in ${fleetLayout.pooledHosts / 2} aggregates), one connection each, ` +
        `heartbeating every ${heartbeatIntervalMs / 1000} s; ${num(fleetAggregates)} aggregates. ` +
        `Seeding: ${ms(seedMs)} ms (store code, one transaction); registering: ${ms(registerMs)} ms.`,
    );
    report.line(
      `reads: paced streams of one call at a time, all at once for ${loadedWindowSeconds} s during the heartbeats ` +
        `(${num(afterLoad.heartbeats - loadStats.heartbeats)} heartbeats answered, ${afterLoad.failed - loadStats.failed} failed, slowest ${ms(afterLoad.maxMs)} ms); ` +
        `controller CPU over the window ${num((loadCpuUs / 1e6 / loadedWindowSeconds) * 100)} % of a core`,
    );
    report.table(
      ["read during the load", "calls", "p50 ms", "p99 ms", "max ms", `gaps > ${fleetTargets.stallMs} ms`, "longest gap ms", "errors"],
      reads.map((r, i) => {
        const x: LoadResult = results[i]!;
        const isProbe = r.spec.gapThresholdMs !== undefined;
        return [r.label, num(x.calls), ms(x.p50Ms), ms(x.p99Ms), ms(x.maxMs), isProbe ? String(x.longGaps) : "–", ms(x.maxGapMs), String(x.errors)];
      }),
    );
    reads.forEach((r, i) => {
      if (results[i]!.errors > 0) report.line(`WARNING: ${r.label}: ${results[i]!.errors} failed calls; first: ${results[i]!.firstError}`);
    });
    report.line(
      `the controller's own event-loop delay, from the scrape before the reads to the one after (nodejs_eventloop_lag_*, its /metrics): ` +
        `max ${ms(loopDelay.maxMs)} ms, p99 ${ms(loopDelay.p99Ms)} ms (it counts time the process waited for a core too); ` +
        `its major garbage collections meanwhile (nodejs_gc_duration_seconds): ${majorGc.count}, ${ms(majorGc.totalMs)} ms in all, ${majorGc.atLeast10Ms} of them pausing ≥ 10 ms`,
    );

    // 6. Restart on that database (the agents keep heartbeating, as they would).
    report.progress("fleet: restarting the controller");
    const stopAt = performance.now();
    await controller.child.stop();
    const startAt = performance.now();
    controller = await startControllerProcess({ dir: bigDir, cpuProfileDir: options.cpuProfileDir, tokens: { adminToken: controller.adminToken, agentToken: controller.agentToken } });
    const answeredAt = await firstSuccessfulCall(controller, ids[ids.length >> 1]!, 10_000);
    const [stopMs, startMs] = [startAt - stopAt, answeredAt - startAt];
    await agents.child.stop();

    // 7. GetAggregate at the heartbeats' rate, alone: the same rate's CPU per call, for comparison.
    report.progress(`fleet: ${heartbeatWindowSeconds} s of GetAggregate at ${heartbeatRate} calls/s alone`);
    const getAtRateSpec: LoadSpec = {
      target: "grpc",
      address: controller.address,
      token: controller.adminToken,
      serverPids: [pid(controller)],
      call: { method: "GetAggregate", ids },
      concurrency: 1,
      warmupCalls: 20,
      maxCalls: 100_000,
      maxSeconds: heartbeatWindowSeconds,
      pacedIntervalMs: 1000 / heartbeatRate,
    };
    // The controller was just restarted, so its GetAggregate path is not compiled yet, while the heartbeat
    // path was when the heartbeats were measured (after their lead-in). Unpaced calls warm it first: with
    // the paced warm-up alone, compilation was counted as GetAggregate's cost (1.29 ms a call, 0.76 warm).
    await warmUp(ctx, getAtRateSpec, "GetAggregate");
    const getAtRate = await load.run(getAtRateSpec);

    // 8. Heartbeat vs GetAggregate, server CPU per call, in alternating rounds (no other load).
    report.progress("fleet: Heartbeat vs GetAggregate server CPU per call");
    const shape = { concurrency: options.concurrency, warmupCalls: 500, maxCalls: 100_000, maxSeconds: options.seconds };
    const onController = (c: ControllerProcess, token: string, call: Extract<LoadSpec, { target: "grpc" }>["call"]): LoadSpec => ({
      target: "grpc",
      address: c.address,
      token,
      serverPids: [pid(c)],
      call,
      ...shape,
    });
    const heartbeatVsGet = await alternate(load, options.rounds, [
      { name: "GetAggregate", spec: onController(controller, controller.adminToken, { method: "GetAggregate", ids }) },
      { name: "Heartbeat", spec: onController(controller, controller.agentToken, fleetHeartbeat) },
    ] satisfies Subject[]);

    // 9. GetAggregate at 10,200 aggregates vs at 200.
    report.progress(`fleet: GetAggregate at ${num(fleetAggregates)} vs ${smallAggregates} aggregates`);
    const small = await startControllerProcess({ dir: smallDir });
    // The big controller keeps serving the fleet's heartbeats meanwhile: their CPU, measured alone
    // just before, is taken out of its CPU per call, so only the aggregate count differs.
    const backgroundBefore = processCpuUs(pid(controller))!;
    const backgroundStartedAt = performance.now();
    await sleep(backgroundWindowSeconds * 1000);
    const fleetBackgroundUsPerSecond = (processCpuUs(pid(controller))! - backgroundBefore) / ((performance.now() - backgroundStartedAt) / 1000);
    const scale = await alternate(load, options.rounds, [
      { name: `${smallAggregates} aggregates`, spec: onController(small, small.adminToken, { method: "GetAggregate", ids: smallIds }) },
      {
        name: `${num(fleetAggregates)} aggregates (fleet's ${num(Math.round(fleetBackgroundUsPerSecond / 1000))} ms/s taken out)`,
        spec: onController(controller, controller.adminToken, { method: "GetAggregate", ids }),
        backgroundCpuUsPerSecond: fleetBackgroundUsPerSecond,
      },
    ]);
    const fleetMemoryAfter = residentMiB(pid(controller));
    await Promise.all([small.child.stop(), controller.child.stop()]);

    report.line(`\nserver CPU per call, medians of ${options.rounds} alternating rounds at ${options.concurrency} in flight:`);
    printComparisons(report, [
      { label: "Heartbeat vs GetAggregate", result: heartbeatVsGet },
      { label: `GetAggregate at ${smallAggregates} vs ${num(fleetAggregates)}`, result: scale },
    ]);
    const productionBeatUs = beatsInWindow > 0 ? heartbeatOnlyCpuUs / beatsInWindow : NaN;
    report.line(`\nat the production rate (${heartbeatRate}/s), each alone for ${heartbeatWindowSeconds} s; controller CPU over the window ÷ calls (periodic passes, timers and batch commits included):`);
    report.table(
      ["call", "calls", "server CPU µs/call"],
      [
        [`Heartbeat, from ${num(fleetLayout.hosts)} agents (one connection each)`, num(beatsInWindow), num(productionBeatUs)],
        [`GetAggregate, one client, paced every ${1000 / heartbeatRate} ms`, num(getAtRate.calls), num(getAtRate.serverCpuUsPerCall ?? NaN)],
      ],
    );
    const mode = `bin/aggregates-controller: ${controllerBuild()}${options.cpuProfileDir ? ", profiled" : ""}`;
    report.table(
      ["controller resident memory", "VmRSS MiB", "VmHWM MiB"],
      [
        ["idle, empty database", num(emptyMemory.rss), num(emptyMemory.peak)],
        [`started on ${num(fleetAggregates)} aggregates`, num(seededMemory.rss), num(seededMemory.peak)],
        [`with the fleet, after the reads`, num(loadedMemory.rss), num(loadedMemory.peak)],
        [`restarted, after the CPU rounds`, num(fleetMemoryAfter.rss), num(fleetMemoryAfter.peak)],
      ],
    );
    report.line(`(controller run as ${mode})`);
    report.line(`restart on that database: SIGTERM → exited ${ms(stopMs)} ms; start → first successful GetAggregate ${ms(startMs)} ms`);

    for (const [i, r] of reads.slice(0, 4).entries()) {
      report.checkAtMost(`${r.label.replace(/ \(.*\)$/, "")} p99 during the load`, results[i]!.p99Ms, fleetTargets.readP99Ms, "ms");
    }
    report.checkAtMost(`stalls > ${fleetTargets.stallMs} ms (gaps between stall-probe answers)`, probeResult.longGaps, 0, "", `(longest gap ${ms(probeResult.maxGapMs)} ms)`);
    report.checkAtMost("controller RSS with the fleet", loadedMemory.rss, fleetTargets.rssMiB, "MiB");
    report.checkAtMost("restart (SIGTERM → first successful call)", stopMs + startMs, fleetTargets.restartMs, "ms");
    report.check(
      `GetAggregate / Heartbeat server CPU per call at ${heartbeatRate}/s (heartbeat ≤ GetAggregate)`,
      (getAtRate.serverCpuUsPerCall ?? NaN) / productionBeatUs,
      1,
    );
    report.check(
      `GetAggregate / Heartbeat server CPU per call @${options.concurrency} (heartbeat ≤ GetAggregate)`,
      cpuRatio(heartbeatVsGet),
      1,
      `(CPU ratio ${ratio(cpuRatio(heartbeatVsGet))} of medians ${num(heartbeatVsGet.measured[0]!.serverCpuUsPerCall ?? NaN)} / ${num(heartbeatVsGet.measured[1]!.serverCpuUsPerCall ?? NaN)} µs; calls/s ${perRound(heartbeatVsGet)})`,
    );
    report.check(
      `GetAggregate CPU at ${smallAggregates} / at ${num(fleetAggregates)} aggregates (≥ ${ratio(1 / fleetTargets.scaleCost)} means ≤ ${fleetTargets.scaleCost}×)`,
      cpuRatio(scale),
      1 / fleetTargets.scaleCost,
    );

    report.record("fleet", {
      layout: fleetLayout,
      aggregates: fleetAggregates,
      heartbeatIntervalMs,
      seedMs,
      registerMs,
      reads: reads.map((r, i) => ({ label: r.label, ...results[i] })),
      eventLoopDelayMs: { maxMs: loopDelay.maxMs, p99Ms: loopDelay.p99Ms },
      majorGcInReadWindow: majorGc,
      loadCpuUs,
      heartbeats: { window: afterLoad.heartbeats - loadStats.heartbeats, failed: afterLoad.failed - loadStats.failed, maxMs: afterLoad.maxMs },
      productionBeatUs,
      getAtRate,
      memoryMiB: { empty: emptyMemory, seeded: seededMemory, loaded: loadedMemory, restarted: fleetMemoryAfter },
      restart: { stopMs, startMs },
      heartbeatVsGet: heartbeatVsGet.measured,
      heartbeatCpuRatio: cpuRatio(heartbeatVsGet),
      scale: scale.measured,
      scaleCpuRatio: cpuRatio(scale),
    });
  },
};

