/**
 * A pass that runs on a timer: overlapping ticks share the running pass, and failures are logged,
 * never thrown. Passes walk the aggregates that have hosts in slices and yield to requests between
 * slices, so a pass never holds the event loop for long, however many aggregates there are.
 */
import type { Logger } from "../../shared/logging.js";
import type { AggregateRecord } from "../model/records.js";
import type { AggregateStore } from "../store/store.js";

/** How many aggregates a pass reads at once. */
export const passSliceSize = 100;

/** Resolves after the I/O waiting now (requests) has run. */
export function yieldToRequests(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The aggregates that have hosts, a slice at a time, yielding to requests before each slice. */
export async function* slicesOfAggregatesWithHosts(aggregates: Pick<AggregateStore, "withHosts">, sliceSize = passSliceSize): AsyncGenerator<AggregateRecord[]> {
  let afterId = 0;
  for (;;) {
    await yieldToRequests();
    const slice = await aggregates.withHosts({ afterId, limit: sliceSize });
    if (slice.length === 0) return;
    afterId = slice.at(-1)!.id;
    yield slice;
  }
}

/** Runs `pass` every intervalMs (0: only when tick() is called). */
export class PeriodicPass {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  /** How many passes have ended. */
  passes = 0;

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly pass: () => Promise<void>,
    private readonly log: Logger,
    /** True once the owner shuts down: failures then are expected and not logged. */
    private readonly stopping: () => boolean,
  ) {}

  /** Starts the timer (unref'd: it never keeps the process alive). */
  start(): void {
    if (this.intervalMs <= 0) return;
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** Runs one pass now, or joins the one running. */
  tick(): Promise<void> {
    return (this.running ??= this.pass()
      .catch((err: unknown) => {
        if (!this.stopping()) this.log.error(`${this.name} pass failed`, { error: err instanceof Error ? err.stack : String(err) });
      })
      .finally(() => {
        this.passes++;
        this.running = undefined;
      }));
  }

  /** Stops the timer and waits for a running pass. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
