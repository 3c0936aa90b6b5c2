/** Alternating measurement rounds and their medians. */
import type { LoadDriver } from "./load-driver.js";
import type { LoadResult, LoadSpec } from "./load-spec.js";

/** The median of some numbers (mean of the middle two for an even count; NaN for none). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Figures of one subject over several rounds: medians plus the per-round results. */
export interface Measured {
  name: string;
  rounds: LoadResult[];
  callsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Median server CPU time per call (µs), when the spec named the server's pid. */
  serverCpuUsPerCall?: number;
  /** Median load-generator CPU time per call (µs). */
  clientCpuUsPerCall: number;
  errors: number;
  firstError?: string;
}

/** Summarizes rounds of one subject by their medians. */
export function summarize(name: string, rounds: LoadResult[]): Measured {
  return {
    name,
    rounds,
    callsPerSecond: median(rounds.map((r) => r.callsPerSecond)),
    p50Ms: median(rounds.map((r) => r.p50Ms)),
    p99Ms: median(rounds.map((r) => r.p99Ms)),
    serverCpuUsPerCall: rounds.every((r) => r.serverCpuUsPerCall !== undefined) ? median(rounds.map((r) => r.serverCpuUsPerCall!)) : undefined,
    clientCpuUsPerCall: median(rounds.map((r) => r.clientCpuUsPerCall)),
    errors: rounds.reduce((n, r) => n + r.errors, 0),
    firstError: rounds.find((r) => r.firstError)?.firstError,
  };
}

/** The outcome of alternate(). */
export interface Compared {
  measured: Measured[];
  /** [subject][round]: calls/s of the subject / calls/s of the first subject in the same round. */
  ratiosToFirst: number[][];
  /** [subject][round]: server CPU per call of the first subject / of the subject (NaN without pids). */
  cpuRatiosToFirst: number[][];
}

/** One thing to measure: a spec, or a spec per round (e.g. for unique names in every round). */
export interface Subject {
  name: string;
  spec: LoadSpec | ((round: number) => LoadSpec);
  /**
   * CPU the server spends meanwhile on work these calls do not cause (e.g. a fleet's heartbeats),
   * in µs per second, measured beforehand with no calls: taken out of its server CPU per call.
   */
  backgroundCpuUsPerSecond?: number;
}

/** A round's result with the server's background CPU taken out of its CPU per call (a round of R calls/s carries background/R µs per call). */
export function withoutBackground(result: LoadResult, backgroundCpuUsPerSecond = 0): LoadResult {
  if (backgroundCpuUsPerSecond <= 0 || result.serverCpuUsPerCall === undefined || !(result.callsPerSecond > 0)) return result;
  return { ...result, serverCpuUsPerCall: Math.max(0, result.serverCpuUsPerCall - backgroundCpuUsPerSecond / result.callsPerSecond) };
}

/**
 * Measures the subjects in alternating rounds (A B, B A, A B, …) so slow drifts of a noisy machine
 * hit each subject alike; returns each subject's medians, plus the per-round ratios of each
 * subject to the first one (paired rounds: a round's ratio compares measurements made back to back):
 * calls/s ratios, and server-CPU-per-call ratios (first/subject, so > 1 means cheaper like calls/s).
 * Round 1 uses each spec's full warm-up, later rounds a quarter of it (the processes are warm by then).
 */
export async function alternate(
  load: LoadDriver,
  rounds: number,
  subjects: Subject[],
  onRound?: (round: number, subject: Subject, result: LoadResult) => void,
): Promise<Compared> {
  const results: LoadResult[][] = subjects.map(() => []);
  for (let round = 0; round < rounds; round++) {
    const order = subjects.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const i of order) {
      const { spec } = subjects[i]!;
      const resolved = typeof spec === "function" ? spec(round) : spec;
      // The first round warms each server up fully; later rounds only refill the pipeline.
      const warmupCalls = round === 0 ? resolved.warmupCalls : Math.ceil(resolved.warmupCalls / 4);
      const result = withoutBackground(await load.run({ ...resolved, warmupCalls }), subjects[i]!.backgroundCpuUsPerSecond);
      results[i]!.push(result);
      onRound?.(round, subjects[i]!, result);
    }
  }
  const ratiosToFirst = subjects.map((_, i) =>
    results[i]!.map((r, round) => r.callsPerSecond / results[0]![round]!.callsPerSecond),
  );
  const cpuRatiosToFirst = subjects.map((_, i) =>
    results[i]!.map((r, round) => (results[0]![round]!.serverCpuUsPerCall ?? NaN) / (r.serverCpuUsPerCall ?? NaN)),
  );
  return { measured: subjects.map((s, i) => summarize(s.name, results[i]!)), ratiosToFirst, cpuRatiosToFirst };
}
