/** Accepts long-running operations, runs them one at a time per aggregate (FIFO), and resumes them after a restart. */
import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { failedPrecondition, unavailable } from "../../shared/errors.js";
import type { ControllerContext, OperationStarter, ResidentVm } from "../context.js";
import { checkAddHost, checkRemoveHost } from "../intake/aggregates.js";
import { nowIso, type AggregateRecord, type OperationKindName, type OperationRecord } from "../model/records.js";
import { addHostHandler } from "../operations/add-host.js";
import type { AgentDirectory } from "../pool/agent-directory.js";
import type { KnownCapacity } from "../pool/known-capacity.js";
import type { MasterFailure } from "../pool/master-assessment.js";
import { OperationRunner, settledPoolState, type RunnerSettings } from "./runner.js";
import { recordEvent } from "../store/record-event.js";
import { checkRecoverMaster, confirmMasterFailure, recoverMasterHandler, recoverMasterParams } from "../operations/recover-master.js";
import { removeHostHandler } from "../operations/remove-host.js";
import { repairAggregate } from "../intake/repair-aggregate.js";
import { dryRunEvacuation, effectiveMaxParallel, memberHost, residentVms } from "../intake/maintenance-checks.js";
import { startMaintenanceHandler } from "../operations/start-maintenance.js";
import { stopMaintenanceHandler } from "../operations/stop-maintenance.js";
import type { OperationKindHandler } from "./step-spec.js";

/** Settings of the orchestrator. */
export type OrchestratorSettings = RunnerSettings & {
  /** Members' last complete capacity (for choosing a new master by free memory). */
  knownCapacity?: KnownCapacity;
};

/** The orchestrator: the only code that changes pools. */
export class Orchestrator implements OperationStarter {
  private readonly tails = new Map<number, Promise<void>>();
  private readonly shutdown = new AbortController();
  private readonly runner: OperationRunner;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly agents: AgentDirectory,
    private readonly settings: OrchestratorSettings,
    extraHandlers: Partial<Record<OperationKindName, OperationKindHandler>> = {},
  ) {
    const handlers = {
      ADD_HOST: addHostHandler,
      REMOVE_HOST: removeHostHandler,
      START_MAINTENANCE: startMaintenanceHandler,
      STOP_MAINTENANCE: stopMaintenanceHandler,
      RECOVER_MASTER: recoverMasterHandler,
      ...extraHandlers,
    };
    this.runner = new OperationRunner(ctx, agents, handlers, settings, this.shutdown.signal);
  }

  /** Schedules every unfinished operation, oldest first (call once at start-up). */
  resume(): void {
    for (const op of this.ctx.store.operations.unfinished()) {
      this.ctx.log.info("resuming operation", { operation: op.id, kind: op.kind, state: op.state });
      this.schedule(op);
    }
  }

  /**
   * Queues an operation behind the others of its aggregate. Master recovery has its own lane:
   * it must not wait behind operations that cannot progress while the master is dead.
   */
  schedule(op: Pick<OperationRecord, "id" | "aggregateId" | "kind">): void {
    const key = op.kind === "RECOVER_MASTER" ? -(op.aggregateId ?? 0) - 1 : (op.aggregateId ?? 0);
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous
      .then(() => (this.shutdown.signal.aborted ? undefined : this.runner.run(op.id)))
      .catch((err: unknown) => {
        this.ctx.log.error("operation runner failed", { operation: op.id, error: err instanceof Error ? err.stack : String(err) });
        if (!this.shutdown.signal.aborted) this.runner.failUnexpected(op.id, err);
      });
    this.tails.set(key, next);
    void next.then(() => {
      if (this.tails.get(key) === next) this.tails.delete(key);
    });
  }

  /** Resolves when every queued operation has ended (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }

  private refuseWhileError(aggregate: AggregateRecord): void {
    if (aggregate.poolState === "ERROR") {
      throw failedPrecondition(
        `aggregate ${aggregate.id} is in ERROR (${aggregate.lastError?.message ?? "unknown reason"}); run "aggctl aggregate-repair ${aggregate.id}" first`,
      );
    }
  }

  /** Records an operation and the intent, in the caller's transaction. */
  private record(kind: OperationKindName, aggregateId: number, host: string, params: Record<string, unknown> = {}): OperationRecord {
    const op = this.ctx.store.operations.insert({ id: `op-${randomUUID()}`, kind, aggregateId, host, steps: [], params }, nowIso());
    // ERROR stays until a repair; only an operation that is itself the remedy shows CHANGING through it.
    const inError = this.ctx.store.aggregates.get(aggregateId)?.poolState === "ERROR";
    const remedy = this.runner.handlerOf(kind)?.runsInError === true;
    this.ctx.store.aggregates.updatePool(aggregateId, { poolState: inError && !remedy ? "ERROR" : "CHANGING" }, nowIso());
    recordEvent(this.ctx, { kind: "operation.accepted", aggregateId, host, operationId: op.id, message: `${kind} ${host} accepted` });
    return op;
  }

  /** Accepts AddHost: validation, AZ rules and intent in one transaction. */
  async addHost(aggregateId: number, hostName: string): Promise<string> {
    const { store } = this.ctx;
    const op = store.transaction(() => {
      const { aggregate, host } = checkAddHost(store, aggregateId, hostName);
      this.refuseWhileError(aggregate);
      if (!aggregate.availabilityZone && host.azHint) {
        if (aggregate.members.length > 0) {
          throw failedPrecondition(`host "${hostName}" asks for availability zone "${host.azHint}" but aggregate ${aggregateId} has no availability zone`);
        }
        store.aggregates.updatePool(aggregateId, { availabilityZone: host.azHint, azFromHost: true }, nowIso());
      }
      store.hosts.setMembership(hostName, aggregateId, "JOINING");
      return this.record("ADD_HOST", aggregateId, hostName);
    });
    this.schedule(op);
    return op.id;
  }

  /**
   * Accepts RemoveHost: the host must be a disabled member running no VMs. A FAILED member (a
   * fenced former master) can be removed too; its agent may be gone, so its VMs are not asked for.
   */
  async removeHost(aggregateId: number, hostName: string): Promise<string> {
    const { store } = this.ctx;
    const { aggregate, host } = checkRemoveHost(store, aggregateId, hostName);
    this.refuseWhileError(aggregate);
    if (host.membership !== "MEMBER" && host.membership !== "FAILED") {
      throw failedPrecondition(`host "${hostName}" is ${host.membership} in aggregate ${aggregateId}; wait for its operation to end`);
    }
    if (host.enabled) throw failedPrecondition(`host "${hostName}" is enabled; disable it first ("aggctl host-disable ${hostName}") so no new VMs land on it`);
    let running: string[] = [];
    try {
      const info = await this.agents.forHost(host).getHostInfo({ includeVms: true }, { timeoutMs: 15_000 });
      running = info.vms.filter((v) => v.powerState === "Running" && !v.isControlDomain).map((v) => `${v.name} (${v.uuid})`);
    } catch (err) {
      if (err instanceof ConnectError && err.code !== Code.Unavailable && err.code !== Code.DeadlineExceeded) throw err;
      if (host.membership !== "FAILED") {
        throw unavailable(`cannot check the VMs of "${hostName}": its agent did not answer (${err instanceof Error ? err.message : String(err)})`);
      }
    }
    if (running.length > 0) {
      throw failedPrecondition(`host "${hostName}" still runs ${running.length} VM(s): ${running.join(", ")}; migrate them away or use host maintenance first`);
    }
    const op = store.transaction(() => {
      const fresh = checkRemoveHost(store, aggregateId, hostName);
      this.refuseWhileError(fresh.aggregate);
      if (fresh.host.membership !== host.membership) throw failedPrecondition(`host "${hostName}" is ${fresh.host.membership}; wait for its operation to end`);
      store.hosts.setMembership(hostName, aggregateId, "LEAVING");
      return this.record("REMOVE_HOST", aggregateId, hostName, { priorMembership: host.membership });
    });
    this.schedule(op);
    return op.id;
  }

  /** Accepts StartMaintenance (or answers a dry run with the plan). */
  async startMaintenance(hostName: string, options: { validateOnly: boolean; maxParallel: number; allowPartial: boolean }): Promise<string | OperationRecord> {
    const { store } = this.ctx;
    const host = memberHost(this.ctx, hostName);
    this.refuseWhileError(store.aggregates.get(host.aggregateId)!);
    if (host.maintenance !== "NONE") throw failedPrecondition(`host "${hostName}" is already ${host.maintenance === "ENTERING" ? "being evacuated" : "in maintenance"}`);
    const maxParallel = effectiveMaxParallel(this.ctx, host.aggregateId, options.maxParallel);
    if (options.validateOnly) return dryRunEvacuation(this.ctx, this.agents, host, maxParallel, this.shutdown.signal);
    const op = store.transaction(() => {
      const fresh = memberHost(this.ctx, hostName);
      if (fresh.maintenance !== "NONE") throw failedPrecondition(`host "${hostName}" is already in maintenance (${fresh.maintenance})`);
      store.hosts.setMaintenance(hostName, "ENTERING");
      return this.record("START_MAINTENANCE", fresh.aggregateId, hostName, { maxParallel, allowPartial: options.allowPartial });
    });
    this.schedule(op);
    return op.id;
  }

  /** Accepts StopMaintenance. */
  async stopMaintenance(hostName: string, rebalance: boolean): Promise<string> {
    const { store } = this.ctx;
    const op = store.transaction(() => {
      const host = memberHost(this.ctx, hostName);
      this.refuseWhileError(store.aggregates.get(host.aggregateId)!);
      if (host.maintenance === "ENTERING") {
        throw failedPrecondition(`host "${hostName}" is still being evacuated; wait for the operation or cancel it first`);
      }
      if (host.maintenance === "LEAVING") throw failedPrecondition(`host "${hostName}" is already leaving maintenance`);
      if (host.maintenance === "NONE" && host.enabled) throw failedPrecondition(`host "${hostName}" is not in maintenance`);
      store.hosts.setMaintenance(hostName, "LEAVING");
      return this.record("STOP_MAINTENANCE", host.aggregateId, hostName, { rebalance, maxParallel: effectiveMaxParallel(this.ctx, host.aggregateId, 0) });
    });
    this.schedule(op);
    return op.id;
  }

  /**
   * Accepts RecoverMaster: by an operator (the failure is confirmed through the agents first) or
   * by the master-failure detector (which passes what it confirmed). Allowed while in ERROR.
   */
  async recoverMaster(aggregateId: number, newMaster?: string, detected?: MasterFailure): Promise<string> {
    const failure = detected ?? (await confirmMasterFailure(this.ctx, this.agents, aggregateId, newMaster || undefined, this.shutdown.signal));
    const op = this.ctx.store.transaction(() => {
      const { master } = checkRecoverMaster(this.ctx.store, aggregateId, newMaster || undefined);
      if (master.name !== failure.master) throw failedPrecondition(`the pool master of aggregate ${aggregateId} is ${master.name} now, not the failed ${failure.master}`);
      const params = recoverMasterParams(this.ctx, aggregateId, failure, detected ? "detector" : "operator", newMaster || undefined, this.settings.knownCapacity);
      return this.record("RECOVER_MASTER", aggregateId, failure.master, params);
    });
    this.schedule(op);
    return op.id;
  }

  /** VMs resident on a host (asks its pool). */
  residentVms(hostName: string): Promise<ResidentVm[]> {
    return residentVms(this.ctx, this.agents, hostName);
  }

  /** Cancels a pending operation at once; asks a running one to stop before its next step. */
  cancel(operationId: string): void {
    const { store } = this.ctx;
    store.transaction(() => {
      const op = store.operations.get(operationId);
      if (!op || op.state === "SUCCEEDED" || op.state === "FAILED" || op.state === "CANCELLED") return;
      op.cancelRequested = true;
      store.operations.save(op, nowIso());
      recordEvent(this.ctx, { kind: "operation.cancel-requested", aggregateId: op.aggregateId, host: op.host, operationId: op.id, message: `cancellation of ${op.id} requested` });
    });
    // Not started yet: end it now and undo its intent, instead of when its turn comes.
    this.runner.cancelPending(operationId);
    this.ctx.changes.operationChanged(operationId);
  }

  /** Re-reads the real pool and converges the record (no operation may be running on the aggregate). */
  async repair(aggregateId: number): Promise<AggregateRecord> {
    return repairAggregate({ ctx: this.ctx, agents: this.agents, signal: this.shutdown.signal }, aggregateId);
  }

  /** Stops scheduling; in-flight steps are abandoned and resume after the next start. */
  async close(): Promise<void> {
    this.shutdown.abort(new Error("controller shutting down"));
    await Promise.race([this.idle(), new Promise((r) => setTimeout(r, 5000))]);
  }
}

export { settledPoolState };
