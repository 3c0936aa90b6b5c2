/** Runs one operation's steps, journaling each before and after it acts, so a restart resumes it. */
import { Code, ConnectError } from "@connectrpc/connect";
import { codeName, xapiErrorOf } from "../../shared/errors.js";
import type { ControllerContext } from "../context.js";
import { nowIso, type OperationErrorRecord, type OperationRecord, type OperationStateName, type PoolStateName } from "../model/records.js";
import type { AgentDirectory } from "../pool/agent-directory.js";
import type { CrashHook } from "./crash-hook.js";
import { isTransient, operationError, StepFailure } from "./failures.js";
import { recordEvent } from "../store/record-event.js";
import { OperationCancelled, type OperationKindHandler, type StepContext, type StepResult } from "./step-spec.js";

const terminal = new Set<OperationStateName>(["SUCCEEDED", "FAILED", "CANCELLED"]);

/** Settings of the runner. */
export interface RunnerSettings {
  /** Deadline of one step. */
  stepTimeoutMs: number;
  /** First delay between retries of a transient failure (doubles up to 5 s). */
  retryDelayMs: number;
  crashHook?: CrashHook;
}

/** The pool state an aggregate should show once an operation ended. */
export function settledPoolState(ctx: ControllerContext, aggregateId: number, failed: boolean): PoolStateName {
  if (failed) return "ERROR";
  const aggregate = ctx.store.aggregates.get(aggregateId)!;
  const busy = ctx.store.operations.unfinished().some((o) => o.aggregateId === aggregateId);
  // ERROR lasts as long as its recorded reason (a repair or a successful remedy clears it).
  const inError = aggregate.poolState === "ERROR" && aggregate.lastError !== null;
  if (busy) return inError ? "ERROR" : "CHANGING";
  if (inError) return "ERROR";
  return aggregate.members.length === 0 ? "EMPTY" : "ACTIVE";
}

/** Executes operations of the kinds it has handlers for. */
export class OperationRunner {
  constructor(
    private readonly ctx: ControllerContext,
    private readonly agents: AgentDirectory,
    private readonly handlers: Partial<Record<OperationRecord["kind"], OperationKindHandler>>,
    private readonly settings: RunnerSettings,
    private readonly shutdown: AbortSignal,
  ) {}

  private save(op: OperationRecord): void {
    op.updatedAt = nowIso();
    this.ctx.store.operations.save(op, op.updatedAt);
    queueMicrotask(() => this.ctx.changes.operationChanged(op.id));
  }

  private stepContext(op: OperationRecord, signal: AbortSignal, deadline: number): StepContext {
    const running = Math.max(0, op.steps.findIndex((st) => st.state === "RUNNING"));
    return {
      reportStepProgress: (fraction) => {
        op.progress = Math.min(1, (running + Math.max(0, Math.min(1, fraction))) / Math.max(1, op.steps.length));
      },
      ctx: this.ctx,
      agents: this.agents,
      op,
      signal,
      remainingMs: () => deadline - Date.now(),
      log: this.ctx.log.child({ operation: op.id }),
      checkpoint: () => this.ctx.store.transaction(() => this.save(op)),
      cancelRequested: () => this.ctx.store.operations.get(op.id)?.cancelRequested === true,
    };
  }

  /** Runs (or resumes) the operation with this id until it ends or the controller shuts down. */
  async run(id: string): Promise<void> {
    const store = this.ctx.store;
    const found = store.operations.get(id);
    if (!found || terminal.has(found.state)) return;
    let op: OperationRecord = found;
    const handler = this.handlers[op.kind];
    if (!handler) return this.end(op, "FAILED", { code: "UNIMPLEMENTED", message: `no runner for ${op.kind}` }, false);
    const aggregate = op.aggregateId !== null ? store.aggregates.get(op.aggregateId) : undefined;
    if (op.state === "PENDING") {
      if (op.cancelRequested) return this.end(op, "CANCELLED", null, false);
      if (!handler.runsInError && aggregate?.poolState === "ERROR" && aggregate.lastError?.operationId !== op.id) {
        return this.end(op, "FAILED", { code: "FAILED_PRECONDITION", message: `aggregate ${aggregate.id} is in ERROR (${aggregate.lastError?.message ?? "unknown"}); repair it, then retry` }, false);
      }
      const planning = this.stepContext(op, this.shutdown, Date.now() + this.settings.stepTimeoutMs);
      op.steps = handler.plan(planning).map((name) => ({ name, state: "PENDING" }));
      op.state = "RUNNING";
      const started = op;
      store.transaction(() => {
        this.save(started);
        recordEvent(this.ctx, { kind: "operation.started", aggregateId: started.aggregateId, host: started.host, operationId: started.id, message: `${started.kind} ${started.host ?? ""} started: ${started.steps.map((s) => s.name).join(" → ")}` });
      });
    }
    for (let i = 0; i < op.steps.length; i++) {
      const step = op.steps[i]!;
      if (step.state === "DONE" || step.state === "SKIPPED") continue;
      const current: OperationRecord = { ...store.operations.get(id)!, steps: op.steps, params: op.params };
      op = current;
      if (op.cancelRequested && !this.changedPool(op, handler, undefined)) return this.end(op, "CANCELLED", null, false, handler);
      step.state = "RUNNING";
      step.startedAt ??= nowIso();
      store.transaction(() => this.save(current));
      const deadlineAt = Date.now() + this.settings.stepTimeoutMs;
      const timeout = AbortSignal.timeout(this.settings.stepTimeoutMs);
      const signal = AbortSignal.any([this.shutdown, timeout]);
      let result: StepResult;
      try {
        result = await this.withRetry(() => handler.steps[step.name]!(this.stepContext(current, signal, deadlineAt)), signal, deadlineAt);
      } catch (err) {
        if (this.shutdown.aborted) return; // resumes after restart from this step
        if (err instanceof OperationCancelled) {
          step.state = "DONE";
          step.detail = err.message;
          step.finishedAt = nowIso();
          return this.end(current, "CANCELLED", null, true, handler);
        }
        const error: OperationErrorRecord = timeout.aborted
          ? { ...operationError(err, step.name), code: "DEADLINE_EXCEEDED", message: `${step.name}: did not finish within ${Math.round(this.settings.stepTimeoutMs / 1000)} s (last error: ${err instanceof Error ? err.message : String(err)})` }
          : operationError(err, step.name);
        step.state = "FAILED";
        step.detail = error.message;
        step.finishedAt = nowIso();
        return this.end(op, "FAILED", error, this.changedPool(op, handler, err), handler);
      }
      this.settings.crashHook?.("during", i + 1, op);
      step.state = result.skipped ? "SKIPPED" : "DONE";
      step.detail = result.detail;
      step.finishedAt = nowIso();
      op.progress = (i + 1) / op.steps.length;
      store.transaction(() => {
        this.save(current);
        recordEvent(this.ctx, { kind: "operation.step", aggregateId: current.aggregateId, host: current.host, operationId: current.id, message: `${step.name}: ${result.detail}` });
      });
      this.settings.crashHook?.("after", i + 1, op);
    }
    return this.end(op, "SUCCEEDED", null, true, handler);
  }

  /** The handler of a kind of operation. */
  handlerOf(kind: OperationRecord["kind"]): OperationKindHandler | undefined {
    return this.handlers[kind];
  }

  /** Ends a still-PENDING operation as CANCELLED (its intent undone); does nothing otherwise. */
  cancelPending(id: string): void {
    const op = this.ctx.store.operations.get(id);
    if (op?.state === "PENDING") this.end(op, "CANCELLED", null, false, this.handlers[op.kind]);
  }

  /** Fails an operation whose run threw outside any step (a bug or an impossible state), so it cannot stay open. */
  failUnexpected(id: string, err: unknown): void {
    const op = this.ctx.store.operations.get(id);
    if (!op || terminal.has(op.state)) return;
    const message = `internal error while running ${op.kind}: ${err instanceof Error ? err.message : String(err)}`;
    try {
      this.end(op, "FAILED", { code: "INTERNAL", message }, true, this.handlers[op.kind]);
    } catch (second) {
      this.ctx.log.error("cannot record the failure of an operation", { operation: id, error: String(second) });
    }
  }

  /** Whether the pool may have changed: a mutating step finished, or the failing one may have acted. */
  private changedPool(op: OperationRecord, handler: OperationKindHandler, failure: unknown): boolean {
    const done = op.steps.some((s) => handler.mutating.has(s.name) && (s.state === "DONE" || s.state === "SKIPPED"));
    if (done) return true;
    const failed = op.steps.find((s) => s.state === "FAILED");
    if (!failed || !handler.mutating.has(failed.name)) return false;
    // A XenAPI refusal or a precondition found before acting leaves the pool as it was.
    return !(failure instanceof StepFailure || xapiErrorOf(failure) !== undefined);
  }

  private async withRetry(fn: () => Promise<StepResult>, signal: AbortSignal, deadlineAt: number): Promise<StepResult> {
    let delay = this.settings.retryDelayMs;
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        const retriable = isTransient(err) || (err instanceof StepFailure && err.code === Code.Unavailable);
        if (!retriable || signal.aborted || Date.now() + delay >= deadlineAt) throw err;
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

  /** Records the end of an operation and settles the aggregate, in one transaction. */
  private end(op: OperationRecord, state: OperationStateName, error: OperationErrorRecord | null, changedPool: boolean, handler?: OperationKindHandler): void {
    const store = this.ctx.store;
    store.transaction(() => {
      op.state = state;
      op.error = error;
      op.finishedAt = nowIso();
      if (state === "SUCCEEDED") op.progress = 1;
      this.save(op);
      if (state === "SUCCEEDED") handler?.succeeded({ ctx: this.ctx, op });
      else handler?.ended({ ctx: this.ctx, op }, { failed: state === "FAILED", changedPool, message: error?.message ?? "cancelled" });
      const before = op.aggregateId !== null ? store.aggregates.get(op.aggregateId) : undefined;
      if (op.aggregateId !== null && before) {
        const failed = state === "FAILED" && handler?.failureBreaksPool !== false;
        // The first failure's reason stays until a repair: a later failure must not hide it.
        const keepEarlierError = before.poolState === "ERROR" && before.lastError !== null && !handler?.runsInError;
        store.aggregates.updatePool(
          op.aggregateId,
          {
            poolState: settledPoolState(this.ctx, op.aggregateId, failed),
            ...(failed && error && !keepEarlierError
              ? { lastError: { message: error.message, xapiCode: error.xapiCode, xapiParams: error.xapiParams, operationId: op.id, occurredAt: op.finishedAt! } }
              : {}),
          },
          nowIso(),
        );
      }
      recordEvent(this.ctx, {
        kind: `operation.${state.toLowerCase()}`,
        aggregateId: op.aggregateId,
        host: op.host,
        operationId: op.id,
        message: `${op.kind} ${op.host ?? ""} ${state}${error ? `: ${error.message}${error.xapiCode ? ` (XenAPI ${error.xapiCode})` : ""}` : ""}`,
      });
    });
  }
}

export { codeName };
