/** What a benchmark section is and what it gets from the run. */
import type { LoadDriver } from "./load-driver.js";
import type { Report } from "./report.js";

/** Command-line options of `npm run bench` that sections read. */
export interface BenchOptions {
  /** Alternating rounds per comparison (default 7). */
  rounds: number;
  /** Upper bound of one measurement, in seconds (default 1.5). */
  seconds: number;
  /** Calls in flight during a measurement (default 32). */
  concurrency: number;
  /** Also start OpenStack Nova (shared/tools/nova-peer.sh) and measure it in this run. */
  nova: boolean;
  /** Write a CPU profile of each controller process into this directory. */
  cpuProfileDir?: string;
}

/** What the run hands every section. */
export interface BenchContext {
  options: BenchOptions;
  /** This run's scratch directory (removed at the end). Give each section its own subdirectory. */
  tmpDir: string;
  /** The shared load generator process. */
  load: LoadDriver;
  report: Report;
  /** Figures sections publish for later sections (e.g. the Nova section reads "read-api"). */
  results: Map<string, unknown>;
}

/**
 * One part of `npm run bench`. A section starts the processes it needs (bench/lib/servers.ts,
 * bench/lib/children.ts stop them all at the end, also on error and SIGINT), measures through
 * ctx.load, prints tables and ratios through ctx.report, and records its targets with
 * ctx.report.check(). Add a section by adding it to the list in bench/sections/index.ts.
 */
export interface BenchSection {
  /** Short id, used with --only and in the JSON record. */
  name: string;
  /** Heading printed above the section's output. */
  title: string;
  /** Whether the section runs with these options (default: always). */
  enabled?(options: BenchOptions): boolean;
  run(ctx: BenchContext): Promise<void>;
}
