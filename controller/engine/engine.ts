/**
 * The engine: runs accepted operations one at a time per aggregate (FIFO), each under its
 * aggregate's lease, and interrupts every step in flight when the controller stops or the lease is
 * lost. Intake on any replica only records an operation and pokes the engine; every replica looks
 * for unfinished operations it does not run yet (at start, on each poke and every pollMs), takes the
 * aggregate's lease when it can, and runs them from their last journaled step — so a dead replica's
 * operations resume wherever its leases go, and a run cut off by a lost database resumes here once
 * it answers. It changes pools only through the operation specs it is
 * given (operations/).
 */
import type { ControllerContext, OperationScheduler } from "../context.js";
import type { HeldLease } from "../leases/lease-keeper.js";
import { LeaseLost } from "../leases/leased-context.js";
import { leaseIdOf } from "../leases/lease-ids.js";
import { isRemedy } from "../model/lifecycle.js";
import { isPaused, type OperationRecord } from "../model/records.js";
import { isStoreLoss } from "./failures.js";
import { OperationRunner, type RunnerSettings } from "./runner.js";
import type { OperationSpecs } from "./step-spec.js";

/** Settings of the engine. */
export interface EngineSettings extends RunnerSettings {
  /** How often unfinished operations are looked for (the ones another replica left, or accepted elsewhere). */
  pollMs: number;
}

/** True when an unfinished operation waits for a run (a paused one waits for the operator, unless a cancellation is asked). */
function wantsRun(op: OperationRecord): boolean {
  return !isPaused(op) || op.cancelRequested;
}

/** The engine. */
export class Engine implements OperationScheduler {
  private readonly tails = new Map<number, Promise<void>>();
  /** Operations queued or running here. */
  private readonly here = new Set<string>();
  private readonly stopping = new AbortController();
  private readonly runner: OperationRunner;
  private poller?: NodeJS.Timeout;
  private finding?: Promise<void>;
  private findAgain = false;

  constructor(
    private readonly ctx: ControllerContext,
    specs: OperationSpecs,
    private readonly settings: EngineSettings,
  ) {
    this.runner = new OperationRunner(ctx, specs, settings, this.stopping.signal);
  }

  /** Aborted when the controller stops. */
  get shutdown(): AbortSignal {
    return this.stopping.signal;
  }

  /** Starts looking for work: now (resuming what a restart or a dead replica left) and every pollMs (call once, after the keeper started). */
  async resume(): Promise<void> {
    this.poller = setInterval(() => void this.findWork(), this.settings.pollMs);
    this.poller.unref();
    await this.findWork();
  }

  /** An operation was accepted (or resumed, or asked to cancel): run it here if this replica holds or can take its aggregate's lease. */
  schedule(): void {
    void this.findWork();
  }

  /** Looks for unfinished operations not running here (overlapping calls coalesce into one more pass). */
  findWork(): Promise<void> {
    if (this.finding) {
      this.findAgain = true;
      return this.finding;
    }
    this.finding = (async () => {
      do {
        this.findAgain = false;
        await this.findOnce().catch((err: unknown) => {
          if (!this.stopping.signal.aborted) this.ctx.log.warn("cannot look for operations to run", { error: err instanceof Error ? err.message : String(err) });
        });
      } while (this.findAgain && !this.stopping.signal.aborted);
    })().finally(() => (this.finding = undefined));
    return this.finding;
  }

  private async findOnce(): Promise<void> {
    if (this.stopping.signal.aborted) return;
    const byLease = new Map<number, OperationRecord[]>();
    for (const op of await this.ctx.store.operations.unfinished()) {
      if (this.here.has(op.id) || !wantsRun(op)) continue;
      const id = leaseIdOf(op);
      byLease.set(id, [...(byLease.get(id) ?? []), op]);
    }
    await Promise.all(
      [...byLease].map(async ([id, ops]) => {
        const held = await this.ctx.leases.take(id);
        if (!held || this.stopping.signal.aborted) return;
        for (const op of ops) this.enqueue(op, held);
      }),
    );
  }

  /**
   * Queues an operation behind the others of its aggregate, under the lease. The remedy of an ERROR
   * (master recovery) has its own lane: it must not wait behind operations that cannot progress meanwhile.
   */
  private enqueue(op: OperationRecord, held: HeldLease): void {
    if (this.here.has(op.id)) return;
    this.here.add(op.id);
    this.ctx.log.info("running operation", { operation: op.id, kind: op.kind, state: op.state, aggregate: held.lease.aggregateId, epoch: held.lease.epoch });
    const key = isRemedy(op.kind) ? -(op.aggregateId ?? 0) - 1 : (op.aggregateId ?? 0);
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous
      .then(async () => {
        if (this.stopping.signal.aborted || !held.valid()) return;
        // Read again once its turn came: it may have ended or paused meanwhile (then it waits for the operator).
        const fresh = await this.ctx.store.operations.get(op.id);
        if (fresh && wantsRun(fresh)) await this.runner.run(op.id, held);
      })
      .catch((err: unknown) => {
        if (this.stopping.signal.aborted) return;
        if (err instanceof LeaseLost || held.signal.aborted) {
          this.ctx.log.warn("operation interrupted: the lease was lost", { operation: op.id, aggregate: held.lease.aggregateId });
          return;
        }
        // A journal write whose COMMIT may or may not have landed: nothing is recorded on top of it; the next pass resumes from the journal.
        if (isStoreLoss(err)) {
          this.ctx.log.warn("operation interrupted: the database was lost; it resumes from its journal once the database answers", { operation: op.id, error: err instanceof Error ? err.message : String(err) });
          return;
        }
        this.ctx.log.error("operation runner failed", { operation: op.id, error: err instanceof Error ? err.stack : String(err) });
        return this.runner.failUnexpected(op.id, err, held);
      })
      .finally(() => this.here.delete(op.id));
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
    while (this.tails.size > 0 || this.finding) await Promise.all([...this.tails.values(), this.finding]);
  }

  /** Interrupts every step in flight (they resume after the next start, or on another replica) and waits briefly for the runners to stop. */
  async close(): Promise<void> {
    clearInterval(this.poller);
    this.stopping.abort(new Error("controller shutting down"));
    await Promise.race([this.idle(), new Promise((r) => setTimeout(r, 5000))]);
  }
}
