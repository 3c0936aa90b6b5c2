/** A pass that runs on a timer: overlapping ticks share the running pass, and failures are logged, never thrown. */
import type { Logger } from "../../shared/logging.js";

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
