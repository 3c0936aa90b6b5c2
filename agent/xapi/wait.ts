/** Bounded polling: every wait in the agent has a deadline and a poll interval. */
import { abortReason, delay } from "./delay.js";
import { WaitTimeoutError, XapiUnreachableError } from "./errors.js";

/** A probe's answer: done with a value, or not yet with what it saw. */
export type ProbeResult<T> = { done: true; value: T } | { done: false; seen: string };

/** Done. */
export const ready = <T>(value: T): ProbeResult<T> => ({ done: true, value });
/** Not yet; `seen` describes the current state for the timeout message. */
export const notYet = (seen: string): ProbeResult<never> => ({ done: false, seen });

/** Options of a wait. */
export interface WaitOptions {
  /** What is awaited, for the timeout message (e.g. "xs2 to answer as a slave of 127.0.0.130"). */
  what: string;
  timeoutMs: number;
  intervalMs: number;
  /** The caller's signal (client cancellation, RPC deadline, shutdown). */
  signal?: AbortSignal;
}

/**
 * Runs `probe` until it answers done, waiting intervalMs between attempts. The probe gets a
 * signal that also aborts at the deadline. Throws WaitTimeoutError at the deadline, the
 * caller's abort reason when the caller gives up, or whatever the probe throws.
 */
export async function waitUntil<T>(options: WaitOptions, probe: (signal: AbortSignal) => Promise<ProbeResult<T>>): Promise<T> {
  const started = Date.now();
  const deadline = AbortSignal.timeout(Math.max(1, options.timeoutMs));
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  let seen: string | undefined;
  const timedOut = () => new WaitTimeoutError(options.what, Date.now() - started, seen);
  for (;;) {
    if (options.signal?.aborted) throw abortReason(options.signal);
    if (deadline.aborted) throw timedOut();
    try {
      const result = await probe(signal);
      if (result.done) return result.value;
      seen = result.seen;
    } catch (err) {
      if (options.signal?.aborted) throw abortReason(options.signal);
      if (deadline.aborted && err instanceof XapiUnreachableError && err.reason === "aborted") throw timedOut();
      throw err;
    }
    try {
      await delay(options.intervalMs, signal);
    } catch {
      if (options.signal?.aborted) throw abortReason(options.signal);
      throw timedOut();
    }
  }
}
