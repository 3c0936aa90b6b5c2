/**
 * The engine: runs accepted operations one at a time per aggregate (FIFO), resumes unfinished ones
 * after a restart, and interrupts every step in flight when the controller stops. It changes
 * pools only through the operation specs it is given (operations/).
 */
import type { ControllerContext, OperationScheduler } from "../context.js";
import { isRemedy } from "../model/lifecycle.js";
import type { OperationRecord } from "../model/records.js";
import { OperationRunner, type RunnerSettings } from "./runner.js";
import type { OperationSpecs } from "./step-spec.js";

/** The engine. */
export class Engine implements OperationScheduler {
  private readonly tails = new Map<number, Promise<void>>();
  private readonly stopping = new AbortController();
  private readonly runner: OperationRunner;

  constructor(
    private readonly ctx: ControllerContext,
    specs: OperationSpecs,
    settings: RunnerSettings,
  ) {
    this.runner = new OperationRunner(ctx, specs, settings, this.stopping.signal);
  }

  /** Aborted when the controller stops. */
  get shutdown(): AbortSignal {
    return this.stopping.signal;
  }

  /** Schedules every unfinished operation, oldest first (call once at start-up). */
  async resume(): Promise<void> {
    for (const op of await this.ctx.store.operations.unfinished()) {
      this.ctx.log.info("resuming operation", { operation: op.id, kind: op.kind, state: op.state });
      this.schedule(op);
    }
  }

  /**
   * Queues an operation behind the others of its aggregate. The remedy of an ERROR (master
   * recovery) has its own lane: it must not wait behind operations that cannot progress meanwhile.
   */
  schedule(op: Pick<OperationRecord, "id" | "aggregateId" | "kind">): void {
    const key = isRemedy(op.kind) ? -(op.aggregateId ?? 0) - 1 : (op.aggregateId ?? 0);
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous
      .then(() => (this.stopping.signal.aborted ? undefined : this.runner.run(op.id)))
      .catch((err: unknown) => {
        this.ctx.log.error("operation runner failed", { operation: op.id, error: err instanceof Error ? err.stack : String(err) });
        if (!this.stopping.signal.aborted) return this.runner.failUnexpected(op.id, err);
      });
    this.tails.set(key, next);
    void next.then(() => {
      if (this.tails.get(key) === next) this.tails.delete(key);
    });
  }

  /** Ends a still-PENDING operation as CANCELLED at once. */
  cancelPending(id: string): Promise<void> {
    return this.runner.cancelPending(id);
  }

  /** Resolves when every queued operation has ended (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }

  /** Interrupts every step in flight (they resume after the next start) and waits briefly for the runners to stop. */
  async close(): Promise<void> {
    this.stopping.abort(new Error("controller shutting down"));
    await Promise.race([this.idle(), new Promise((r) => setTimeout(r, 5000))]);
  }
}
