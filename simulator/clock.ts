/** The simulator's scaled clock: every duration is nominal, and a wait takes nominal × timeScale. */

/** A cancellable timer created by {@link ScaledClock.setTimeout}. */
export interface ClockTimer {
  cancel(): void;
}

/**
 * The simulator's single source of time. Every duration in the simulator is
 * *nominal* (what a real XenServer would take); the real wait is
 * `nominal × timeScale`, so `timeScale = 0.001` runs a 10 s fuse in 10 ms
 * while keeping the same order of state changes.
 */
export class ScaledClock {
  readonly timeScale: number;
  private readonly startReal = performance.now();
  private readonly timers = new Set<NodeJS.Timeout>();
  private disposed = false;

  constructor(timeScale: number) {
    if (!Number.isFinite(timeScale) || timeScale <= 0) {
      throw new RangeError(`timeScale must be a positive number, got ${timeScale}`);
    }
    this.timeScale = timeScale;
  }

  /** Nominal milliseconds elapsed since the clock was created. */
  now(): number {
    return (performance.now() - this.startReal) / this.timeScale;
  }

  /** Real milliseconds that a nominal duration takes. */
  toReal(nominalMs: number): number {
    return nominalMs * this.timeScale;
  }

  /** Nominal milliseconds corresponding to a real duration. */
  toNominal(realMs: number): number {
    return realMs / this.timeScale;
  }

  /** Runs `fn` after a nominal delay; a no-op once the clock is disposed. */
  setTimeout(fn: () => void, nominalMs: number): ClockTimer {
    if (this.disposed) return { cancel: () => undefined };
    const handle = setTimeout(() => {
      this.timers.delete(handle);
      fn();
    }, Math.max(0, this.toReal(nominalMs)));
    this.timers.add(handle);
    return {
      cancel: () => {
        clearTimeout(handle);
        this.timers.delete(handle);
      },
    };
  }

  /** Resolves after a nominal delay; rejects with `signal.reason` when aborted. */
  sleep(nominalMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = (): void => {
        timer.cancel();
        reject(signal?.reason);
      };
      const timer = this.setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, nominalMs);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Cancels every pending timer; later timers are ignored. Idempotent. */
  dispose(): void {
    this.disposed = true;
    for (const handle of this.timers) clearTimeout(handle);
    this.timers.clear();
  }
}
