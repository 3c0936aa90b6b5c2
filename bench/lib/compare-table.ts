/** Prints the table of an alternate() comparison, the same way in every section. */
import type { Compared } from "./measure.js";
import { median } from "./measure.js";
import { ms, num, type Report } from "./report.js";

/** One compared call: a label and the outcome of alternate(). */
export interface ComparedRow {
  label: string;
  result: Compared;
}

/** Prints calls/s, latency and CPU per call for each subject, and warns about failed calls. */
export function printComparisons(report: Report, rows: ComparedRow[]): void {
  report.table(
    ["call", "server", "calls/s", "p50 ms", "p99 ms", "server CPU µs/call", "calls/s per round", "errors"],
    rows.flatMap(({ label, result }) =>
      result.measured.map((m, i) => [
        i === 0 ? label : "",
        m.name,
        num(m.callsPerSecond),
        ms(m.p50Ms),
        ms(m.p99Ms),
        m.serverCpuUsPerCall === undefined ? "–" : num(m.serverCpuUsPerCall),
        m.rounds.map((r) => num(r.callsPerSecond)).join(" / "),
        String(m.errors),
      ]),
    ),
  );
  for (const { label, result } of rows) {
    for (const m of result.measured) {
      if (m.errors > 0) report.line(`WARNING: ${label} on ${m.name}: ${m.errors} failed calls; first: ${m.firstError}`);
    }
  }
}

/** Median of the per-round calls/s ratios of subject i to the first subject. */
export const throughputRatio = (c: Compared, i = 1): number => median(c.ratiosToFirst[i]!);
/** Median of the per-round server-CPU-per-call ratios (first / subject i; > 1 means subject i is cheaper). */
export const cpuRatio = (c: Compared, i = 1): number => median(c.cpuRatiosToFirst[i]!);
/** "(per round: 0.91, 0.88, …)" */
export const perRound = (c: Compared, i = 1, digits = 2): string => `per round: ${c.ratiosToFirst[i]!.map((x) => num(x, digits)).join(", ")}`;
