/**
 * `npm run chaos -- [--schedules N] [--seed S] [--hosts H] …`: the randomized fault campaign
 * (docs/reliability.md). Each schedule runs the product as separate processes, fires seeded
 * requests and faults, lets the system settle and checks the invariants; the seed of every
 * schedule is printed so a failure can be replayed alone (`--schedule-seed`).
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Cluster } from "./cluster.js";
import { scheduleSeed } from "./random.js";
import { runSchedule, type ScheduleResult } from "./run-schedule.js";
import { describeEvent, drawSchedule } from "./schedule.js";

const usage = `usage: npm run chaos -- [--schedules N] [--seed S] [--hosts H] [--events E]
       [--schedule-seed X] [--without-rolling] [--time-scale F] [--vms-per-host V] [--report FILE] [--verbose]

  --schedules      schedules to run (default 50)
  --seed           seed of the campaign (default: from the clock; printed)
  --hosts          simulated hosts per schedule (default 5, at least 4)
  --events         requests and faults per schedule (default 24), rolling maintenance requests on top
  --schedule-seed  run only the schedule of this seed (as printed by a campaign)
  --without-rolling  no rolling maintenance requests (replays a seed found before they existed)
  --time-scale     simulator clock (default 0.01: a join takes about 0.3 s)
  --vms-per-host   running guests on each host of the first aggregate (default 2)
  --report         write the figures and every schedule's result as JSON to FILE
  --verbose        print every schedule's event log, not only the failing ones'`;

function positive(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}`);
  return n;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      schedules: { type: "string" },
      seed: { type: "string" },
      hosts: { type: "string" },
      events: { type: "string" },
      "schedule-seed": { type: "string" },
      "without-rolling": { type: "boolean" },
      "time-scale": { type: "string" },
      "vms-per-host": { type: "string" },
      report: { type: "string" },
      verbose: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const hosts = positive("hosts", values.hosts, 5, 4);
  const events = positive("events", values.events, 24);
  const campaignSeed = positive("seed", values.seed, Date.now() % 2 ** 31, 0);
  const single = values["schedule-seed"] === undefined ? undefined : positive("schedule-seed", values["schedule-seed"], 0, 0);
  const count = single === undefined ? positive("schedules", values.schedules, 50) : 1;
  const timeScale = values["time-scale"] === undefined ? 0.01 : Number(values["time-scale"]);
  if (!(timeScale > 0 && timeScale <= 1)) throw new Error("--time-scale must be in (0, 1]");
  const vmsPerHost = positive("vms-per-host", values["vms-per-host"], 2, 0);

  console.log(single === undefined ? `chaos: ${count} schedule(s), campaign seed ${campaignSeed}, ${hosts} hosts, ${events} events each` : `chaos: schedule seed ${single}, ${hosts} hosts, ${events} events`);
  const results: ScheduleResult[] = [];
  const started = Date.now();
  for (let i = 0; i < count; i++) {
    const seed = single ?? scheduleSeed(campaignSeed, i);
    const schedule = drawSchedule({ seed, hosts, events, rollingMaintenance: !values["without-rolling"] });
    let result: ScheduleResult;
    try {
      result = await runSchedule(schedule, { baseAddress: "127.0.40.10", timeScale, heartbeatSeconds: 0.5, vmsPerHost, settleTimeoutMs: 90_000 });
    } catch (err) {
      // The harness itself could not run the schedule (e.g. the set-up failed): that is a failure too.
      result = { seed, requests: 0, operations: 0, faults: 0, violations: [{ invariant: "the schedule runs", detail: err instanceof Error ? err.message : String(err) }], elapsedMs: 0, log: schedule.events.map(describeEvent) };
    }
    results.push(result);
    const verdict = result.violations.length === 0 ? "ok" : `${result.violations.length} VIOLATION(S)`;
    console.log(
      `schedule ${i + 1}/${count} seed ${seed}: ${result.requests} requests, ${result.operations} operations, ${result.faults} faults — ${verdict} (${(result.elapsedMs / 1000).toFixed(1)} s)`,
    );
    if (result.violations.length > 0 || values.verbose) {
      for (const line of result.log) console.log(`    ${line}`);
      for (const v of result.violations) console.log(`  ✗ ${v.invariant}: ${v.detail}`);
      if (result.controllerLog) console.log(`  controller log (end):\n${result.controllerLog.replace(/^/gm, "    | ")}`);
      if (result.events) console.log(`  controller events (end):\n${result.events.replace(/^/gm, "    > ")}`);
      if (result.violations.length > 0) console.log(`  replay: npm run chaos -- --schedule-seed ${seed} --hosts ${hosts} --events ${events}${values["without-rolling"] ? " --without-rolling" : ""}`);
    }
  }
  const failing = results.filter((r) => r.violations.length > 0);
  const sum = (f: (r: ScheduleResult) => number) => results.reduce((n, r) => n + f(r), 0);
  const figures = {
    schedules: results.length,
    campaignSeed: single === undefined ? campaignSeed : null,
    hosts,
    eventsPerSchedule: events,
    requests: sum((r) => r.requests),
    operations: sum((r) => r.operations),
    faults: sum((r) => r.faults),
    violations: sum((r) => r.violations.length),
    failingSeeds: failing.map((r) => r.seed),
    minutes: Number(((Date.now() - started) / 60_000).toFixed(1)),
  };
  console.log(
    `chaos: ${figures.schedules} schedules, ${figures.requests} requests, ${figures.operations} operations, ${figures.faults} faults, ` +
      `${figures.violations} violations${failing.length ? ` (seeds ${figures.failingSeeds.join(", ")})` : ""} in ${figures.minutes} min`,
  );
  if (values.report) writeFileSync(values.report, JSON.stringify({ figures, results }, null, 2) + "\n");
  return failing.length === 0 ? 0 : 1;
}

// Ctrl-C or SIGTERM of the campaign stops the daemons of the schedule that runs, then exits.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.log(`chaos: ${signal}; stopping the running schedule's daemons`);
    void Promise.allSettled([...Cluster.running].map((c) => c.close())).then(() => process.exit(130));
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`chaos: ${err instanceof Error ? err.message : String(err)}\n${usage}`);
    process.exit(2);
  },
);
