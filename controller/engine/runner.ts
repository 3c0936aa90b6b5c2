/**
 * Runs one operation's steps, journaling each before and after it acts, so a restart resumes it.
 * The runner alone decides how a step ends. A step counts as DONE only when it returned while its
 * run was never interrupted: if the controller began shutting down or lost the aggregate's lease at
 * any point of the step, the step stays RUNNING in the journal and resumes from there (after a
 * restart, or on whichever replica takes the lease) — whatever the step returned or threw. So does
 * a step that lost the database (isStoreLoss); a journal write that lost it throws out of run()
 * and the engine treats it as an interruption too. An
 * operation runs under its aggregate's lease: every journal write is fenced by it, and so are the
 * steps' own writes and agent calls (leases/leased-context.ts). A cancellation ends the step CANCELLED and
 * the operation CANCELLED; a deadline ends it FAILED. Each step's end and each operation's end
 * are counted through the context's metrics port.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { ControllerContext } from "../context.js";
import type { HeldLease } from "../leases/lease-keeper.js";
import { leasedContext } from "../leases/leased-context.js";
import { errorAfterFailure, refusalWhileError } from "../model/lifecycle.js";
import { isTerminal, nowIso, type OperationErrorRecord, type OperationRecord, type OperationStateName } from "../model/records.js";
import type { CrashHook } from "./crash-hook.js";
import { Cancelled, isStoreLoss, isTransient, leftPoolAsItWas, operationError, Paused } from "./failures.js";
import { specOf, stepSpecOf, type OperationSpec, type OperationSpecs, type StepContext, type StepResult } from "./step-spec.js";

/** Settings of the runner. */
export interface RunnerSettings {
  /** Deadline of one step. */
  stepTimeoutMs: number;
  /** First delay between retries of a transient failure (doubles up to 5 s). */
  retryDelayMs: number;
  crashHook?: CrashHook;
}

/** How a step's run ended, as the runner sees it. */
type StepEnd = { kind: "done"; result: StepResult } | { kind: "interrupted" } | { kind: "paused"; message: string } | { kind: "cancelled"; message: string } | { kind: "failed"; error: OperationErrorRecord; cause: unknown };

/** Executes operations of every kind in specs. */
export class OperationRunner {
  constructor(
    private readonly ctx: ControllerContext,
    private readonly specs: OperationSpecs,
    private readonly settings: RunnerSettings,
    /** Aborted when the controller stops: every step in flight is interrupted, never finished. */
    private readonly interruption: AbortSignal,
  ) {}

  /** Inside a transaction: saves the operation's mutable fields. */
  private async save(op: OperationRecord): Promise<void> {
    op.updatedAt = nowIso();
    await this.ctx.store.operations.save(op, op.updatedAt);
  }

  private stepContext(ctx: ControllerContext, op: OperationRecord, signal: AbortSignal, deadline: number): StepContext {
    const running = Math.max(0, op.steps.findIndex((st) => st.state === "RUNNING"));
    return {
      reportStepProgress: (fraction) => {
        op.progress = Math.min(1, (running + Math.max(0, Math.min(1, fraction))) / Math.max(1, op.steps.length));
      },
      ctx,
      agents: ctx.agents,
      op,
      signal,
      remainingMs: () => deadline - Date.now(),
      log: ctx.log.child({ operation: op.id }),
      checkpoint: async () => await ctx.store.transaction(async () => this.save(op)),
      cancelRequested: async () => (await this.ctx.store.operations.get(op.id))?.cancelRequested === true,
    };
  }

  /**
   * Runs (or resumes) the operation with this id under its aggregate's lease until it ends, the
   * controller stops or the lease is lost (then it throws LeaseLost or returns, the step RUNNING).
   */
  async run(id: string, held: HeldLease): Promise<void> {
    const ctx = leasedContext(this.ctx, held);
    const interruption = AbortSignal.any([this.interruption, held.signal]);
    const store = ctx.store;
    const found = await store.operations.get(id);
    if (!found || isTerminal(found.state)) return;
    let op: OperationRecord = found;
    const spec = specOf(this.specs, op);
    if (op.state === "PENDING") {
      const pending = op;
      if (pending.cancelRequested) return void (await this.end(ctx, pending, "CANCELLED", null, false, "PENDING"));
      const aggregate = pending.aggregateId !== null ? await store.aggregates.get(pending.aggregateId) : undefined;
      const refusal = aggregate && aggregate.lastError?.operationId !== pending.id ? refusalWhileError(aggregate, pending.kind) : undefined;
      if (refusal) return void (await this.end(ctx, pending, "FAILED", { code: "FAILED_PRECONDITION", message: `${refusal}, then retry` }, false, "PENDING"));
      // PENDING → RUNNING in one transaction that re-reads it: a CancelOperation that ended it meanwhile wins.
      const started = await store.transaction(async () => {
        const fresh = await store.operations.get(pending.id);
        if (fresh?.state !== "PENDING" || fresh.cancelRequested) return false;
        pending.steps = (await spec.plan({ ctx, op: pending as never })).map((st) => ({ name: st.name, state: "PENDING" }));
        pending.state = "RUNNING";
        await this.save(pending);
        await store.events.append({ kind: "operation.started", aggregateId: pending.aggregateId, host: pending.host, operationId: pending.id, message: `${pending.kind} ${pending.host ?? ""} started: ${pending.steps.map((s) => s.name).join(" → ")}` });
        return true;
      });
      if (!started) return this.run(id, held); // ended meanwhile, or a cancellation arrived: decided from the record as it is now
    }
    for (let i = 0; i < op.steps.length; i++) {
      const step = op.steps[i]!;
      if (step.state === "DONE" || step.state === "SKIPPED") continue;
      const current: OperationRecord = { ...(await store.operations.get(id))!, steps: op.steps, params: op.params } as OperationRecord;
      op = current;
      if (op.cancelRequested && !this.changedPool(op, spec, undefined)) return this.end(ctx, op, "CANCELLED", null, false);
      const stepSpec = stepSpecOf(spec, step.name);
      if (!stepSpec) throw new Error(`${op.kind} has no step "${step.name}"`);
      step.state = "RUNNING";
      step.startedAt ??= nowIso();
      await store.transaction(async () => this.save(current));
      const startedAt = performance.now();
      const ended = await this.runStep(ctx, interruption, current, stepSpec.run as (s: StepContext) => Promise<StepResult>, Math.max(this.settings.stepTimeoutMs, stepSpec.minTimeoutMs ?? 0));
      const seconds = (performance.now() - startedAt) / 1000;
      if (ended.kind === "interrupted") return; // still RUNNING in the journal: resumes from this step after a restart, or where the lease goes
      if (ended.kind === "paused") {
        // Still RUNNING in the journal; nothing more is saved here (a ResumeOperation may already be recorded).
        await store.transaction(async () => {
          await store.events.append({ kind: "operation.paused", aggregateId: current.aggregateId, host: current.host, operationId: current.id, message: `${step.name}: ${ended.message}` });
        });
        return;
      }
      step.finishedAt = nowIso();
      const observe = () => this.ctx.metrics.stepEnded(current.kind, stepSpec.metricName ?? step.name, step.state, seconds);
      if (ended.kind === "cancelled") {
        step.state = "CANCELLED";
        step.detail = ended.message;
        observe();
        return this.end(ctx, current, "CANCELLED", null, this.changedPool(current, spec, undefined) || stepSpec.mutating);
      }
      if (ended.kind === "failed") {
        step.state = "FAILED";
        step.detail = ended.error.message;
        observe();
        return this.end(ctx, current, "FAILED", ended.error, this.changedPool(current, spec, ended.cause));
      }
      this.settings.crashHook?.("during", i + 1, current);
      step.state = ended.result.skipped ? "SKIPPED" : "DONE";
      step.detail = ended.result.detail;
      current.progress = (i + 1) / current.steps.length;
      await store.transaction(async () => {
        await this.save(current);
        await store.events.append({ kind: "operation.step", aggregateId: current.aggregateId, host: current.host, operationId: current.id, message: `${step.name}: ${ended.result.detail}` });
      });
      observe();
      this.settings.crashHook?.("after", i + 1, current);
    }
    return this.end(ctx, op, "SUCCEEDED", null, true);
  }

  /** Runs one step with retries and decides how it ended; an interruption at any moment wins over what the step did. */
  private async runStep(ctx: ControllerContext, interruption: AbortSignal, op: OperationRecord, run: (s: StepContext) => Promise<StepResult>, timeoutMs: number): Promise<StepEnd> {
    const name = op.steps.find((st) => st.state === "RUNNING")!.name;
    const deadlineAt = Date.now() + timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = AbortSignal.any([interruption, timeout]);
    let outcome: { ok: true; result: StepResult } | { ok: false; err: unknown };
    try {
      outcome = { ok: true, result: await this.withRetry(() => run(this.stepContext(ctx, op, signal, deadlineAt)), signal, deadlineAt) };
    } catch (err) {
      outcome = { ok: false, err };
    }
    if (interruption.aborted || (!outcome.ok && isStoreLoss(outcome.err))) return { kind: "interrupted" };
    if (!outcome.ok && outcome.err instanceof Cancelled) return { kind: "cancelled", message: outcome.err.message };
    if (!outcome.ok && outcome.err instanceof Paused) return { kind: "paused", message: outcome.err.message };
    if (timeout.aborted) {
      const last = outcome.ok ? "it returned after its deadline" : `last error: ${outcome.err instanceof Error ? outcome.err.message : String(outcome.err)}`;
      const base = outcome.ok ? { code: "DEADLINE_EXCEEDED", message: "" } : operationError(outcome.err, name);
      return { kind: "failed", cause: outcome.ok ? undefined : outcome.err, error: { ...base, code: "DEADLINE_EXCEEDED", message: `${name}: did not finish within ${Math.round(timeoutMs / 1000)} s (${last})` } };
    }
    if (!outcome.ok) return { kind: "failed", error: operationError(outcome.err, name), cause: outcome.err };
    return { kind: "done", result: outcome.result };
  }

  /**
   * Ends a still-PENDING operation as CANCELLED (its intent undone); does nothing otherwise. Any
   * replica may (intake): the state is re-read in the ending transaction, which the store runs one
   * at a time with the holder's PENDING → RUNNING, so exactly one of them wins.
   */
  async cancelPending(id: string): Promise<void> {
    const op = await this.ctx.store.operations.get(id);
    if (op?.state === "PENDING") await this.end(this.ctx, op, "CANCELLED", null, false, "PENDING");
  }

  /** Fails an operation whose run threw outside any step (a bug or an impossible state), so it cannot stay open (fenced by the lease). */
  async failUnexpected(id: string, err: unknown, held: HeldLease): Promise<void> {
    const op = await this.ctx.store.operations.get(id);
    if (!op || isTerminal(op.state)) return;
    const message = `internal error while running ${op.kind}: ${err instanceof Error ? err.message : String(err)}`;
    try {
      await this.end(leasedContext(this.ctx, held), op, "FAILED", { code: "INTERNAL", message }, true);
    } catch (second) {
      this.ctx.log.error("cannot record the failure of an operation", { operation: id, error: String(second) });
    }
  }

  /**
   * Whether the pool may have changed: a mutating step finished, or started (one interrupted by a
   * restart may have acted, so it runs to its end even when a cancellation is pending), or the
   * failing one may have acted.
   */
  private changedPool(op: OperationRecord, spec: OperationSpec, failure: unknown): boolean {
    const mutating = (name: string) => stepSpecOf(spec, name)?.mutating === true;
    if (op.steps.some((s) => mutating(s.name) && (s.state === "DONE" || s.state === "SKIPPED" || s.state === "RUNNING" || s.state === "CANCELLED"))) return true;
    const failed = op.steps.find((s) => s.state === "FAILED");
    if (!failed || !mutating(failed.name)) return false;
    return !leftPoolAsItWas(failure);
  }

  private async withRetry(fn: () => Promise<StepResult>, signal: AbortSignal, deadlineAt: number): Promise<StepResult> {
    let delay = this.settings.retryDelayMs;
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (!isTransient(err) || signal.aborted || Date.now() + delay >= deadlineAt) throw err;
        this.ctx.log.debug("retrying step after a transient failure", { error: err instanceof Error ? err.message : String(err) });
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, delay);
          signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
        });
        if (signal.aborted) throw err instanceof ConnectError ? err : new ConnectError(String(err), Code.DeadlineExceeded);
        delay = Math.min(delay * 2, 5000);
      }
    }
  }

  /**
   * Records the end of an operation and its bearing on the aggregate, in one transaction of ctx's
   * store (fenced by the lease, except for an intake's cancelPending). With
   * `onlyFrom`, nothing happens unless the operation is still in that state when the transaction
   * reads it (the runner and CancelOperation may both try to end a PENDING operation).
   */
  private async end(ctx: ControllerContext, op: OperationRecord, state: OperationStateName, error: OperationErrorRecord | null, changedPool: boolean, onlyFrom?: OperationStateName): Promise<void> {
    const store = ctx.store;
    const spec = specOf(this.specs, op);
    const ended = await store.transaction(async () => {
      if (onlyFrom && (await store.operations.get(op.id))?.state !== onlyFrom) return false;
      op.state = state;
      op.error = error;
      op.finishedAt = nowIso();
      if (state === "SUCCEEDED") op.progress = 1;
      await this.save(op);
      const view = { ctx, op: op as never };
      if (state === "SUCCEEDED") await spec.succeeded(view);
      else await spec.ended(view, { failed: state === "FAILED", changedPool, message: error?.message ?? "cancelled" });
      const aggregate = op.aggregateId !== null ? await store.aggregates.get(op.aggregateId) : undefined;
      if (aggregate && state === "FAILED" && error) {
        const end = { kind: op.kind, operationId: op.id, error, finishedAt: op.finishedAt, breaksPool: spec.failureBreaksPool };
        await store.aggregates.setError(aggregate.id, errorAfterFailure(aggregate.lastError, end), op.finishedAt);
      }
      await store.events.append({
        kind: `operation.${state.toLowerCase()}`,
        aggregateId: op.aggregateId,
        host: op.host,
        operationId: op.id,
        message: `${op.kind} ${op.host ?? ""} ${state}${error ? `: ${error.message}${error.xapiCode ? ` (XenAPI ${error.xapiCode})` : ""}` : ""}`,
      });
      return true;
    });
    // Counted once the end is committed.
    if (ended) this.ctx.metrics.operationEnded(op.kind, state);
  }
}
