/** Exponential backoff with a cap and jitter, for retrying an unreachable controller. */

/** Backoff settings. */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

/** Delays that double after each failure up to maxMs, with ±20 % jitter (never above maxMs); reset() after a success. */
export class Backoff {
  #failures = 0;

  constructor(private readonly options: BackoffOptions) {}

  /** The delay before the next attempt, counting one more failure. */
  next(): number {
    const base = Math.min(this.options.maxMs, this.options.initialMs * 2 ** Math.min(this.#failures, 30));
    this.#failures++;
    return Math.min(this.options.maxMs, Math.round(base * (0.8 + Math.random() * 0.4)));
  }

  /** Consecutive failures so far. */
  get failures(): number {
    return this.#failures;
  }

  reset(): void {
    this.#failures = 0;
  }
}
