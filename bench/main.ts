/**
 * `npm run bench [-- flags]`: throughput and latency of the real daemons, printed as ratios
 * against baselines measured in the same run (these machines are noisy, so absolute figures from
 * different runs are not comparable). See docs/benchmarks.md.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { onCleanup, stopAll, stopAllOnSignals } from "./lib/children.js";
import { LoadDriver } from "./lib/load-driver.js";
import { Report } from "./lib/report.js";
import type { BenchContext, BenchOptions } from "./lib/section.js";
import { sections } from "./sections/index.js";

const usage = `usage: npm run bench [-- [--rounds N] [--seconds S] [--concurrency N] [--nova]
                        [--only SECTION[,SECTION]] [--cpu-prof DIR] [--json FILE] [--strict]]

  --rounds       alternating rounds per comparison; medians are reported (default 7)
  --seconds      upper bound of one measurement in seconds (default 1.5)
  --concurrency  calls in flight (default 32)
  --nova         also run OpenStack Nova's os-aggregates API (shared/tools/nova-peer.sh) and
                 measure it in the same run (first use installs Debian packages: minutes)
  --only         run only these sections (${sections.map((s) => s.name).join(", ")})
  --cpu-prof     write a V8 CPU profile of each controller process into DIR
  --json         also write the figures as JSON to FILE
  --strict       exit with status 1 when a target is missed`;

/** A run may never hang a terminal or CI job forever. */
const watchdogMs = 20 * 60_000;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      rounds: { type: "string", default: "7" },
      seconds: { type: "string", default: "1.5" },
      concurrency: { type: "string", default: "32" },
      nova: { type: "boolean", default: false },
      only: { type: "string" },
      "cpu-prof": { type: "string" },
      json: { type: "string" },
      strict: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const positive = (flag: string, value: string, max: number) => {
    const n = Number(value);
    if (!(n > 0 && n <= max)) throw new Error(`${flag} must be a number in (0, ${max}]`);
    return n;
  };
  const options: BenchOptions = {
    rounds: Math.round(positive("--rounds", values.rounds, 50)),
    seconds: positive("--seconds", values.seconds, 120),
    concurrency: Math.round(positive("--concurrency", values.concurrency, 1000)),
    nova: values.nova,
    cpuProfileDir: values["cpu-prof"] ? resolve(values["cpu-prof"]) : undefined,
  };
  const only = values.only?.split(",").map((s) => s.trim()).filter(Boolean);
  for (const name of only ?? []) {
    if (!sections.some((s) => s.name === name)) throw new Error(`unknown section "${name}" (known: ${sections.map((s) => s.name).join(", ")})`);
  }
  const chosen = sections.filter((s) => (only ? only.includes(s.name) : (s.enabled?.(options) ?? true)));

  stopAllOnSignals();
  const watchdog = setTimeout(() => {
    console.error(`bench: still running after ${watchdogMs / 60_000} minutes; giving up`);
    void stopAll().finally(() => process.exit(1));
  }, watchdogMs);
  watchdog.unref();

  const tmpDir = mkdtempSync(join(tmpdir(), "host-aggregates-bench-"));
  onCleanup(() => rmSync(tmpDir, { recursive: true, force: true }));
  const report = new Report();
  const started = Date.now();
  console.log(
    `host-aggregates benchmark — Node ${process.version}, ${options.rounds} rounds ≤ ${options.seconds} s each, ` +
      `concurrency ${options.concurrency}; sections: ${chosen.map((s) => s.name).join(", ")}`,
  );
  const load = await LoadDriver.start();
  const ctx: BenchContext = { options, tmpDir, load, report, results: new Map() };
  for (const section of chosen) {
    report.heading(section.name, section.title);
    await section.run(ctx);
  }
  report.summary();
  console.log(`\n(run took ${Math.round((Date.now() - started) / 1000)} s)`);
  if (values.json) {
    writeFileSync(values.json, JSON.stringify({ options, checks: report.checks, sections: report.data }, null, 2) + "\n");
  }
  return values.strict && report.checks.some((c) => !c.pass) ? 1 : 0;
}

main()
  .then(async (code) => {
    await stopAll();
    process.exit(code);
  })
  .catch(async (err: unknown) => {
    console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
    await stopAll();
    process.exit(2);
  });
