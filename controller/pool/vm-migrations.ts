/** Runs the planned VM moves of an evacuation or rebalance: bounded concurrency, progress, re-planning, cancellation. */
import { MigrationState } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import type { EvacuationRecord, VmMoveRecord } from "../model/records.js";
import { isTransient } from "../engine/failures.js";
import { planEvacuation, type PlacementTarget } from "./placement.js";
import { callOptions, hostRecord } from "./pool-view.js";
import type { StepContext } from "../engine/step-spec.js";

/** How many times one VM is tried (on different targets) before it counts as failed. */
export const maxAttemptsPerVm = 3;
const progressSaveIntervalMs = 250;

/** What the migrations need besides the step context. */
export interface MigrationSetup {
  /** The host whose agent sends the migrations (the pool master's, or any member's: agents follow the master). */
  via: string;
  /** Fresh placement targets for re-planning a refused VM. */
  targets(): Promise<PlacementTarget[]>;
  /** CPU vendor of the source host (targets must match). */
  sourceCpuVendor: string;
}

/** Outcome: false when it stopped because of a cancellation. */
export interface MigrationOutcome {
  completed: boolean;
}

/**
 * Migrates every PLANNED (or interrupted MIGRATING) move of ev with at most ev.maxParallel at once,
 * saving progress as it goes. A VM that a target refuses is re-planned on another target.
 */
export async function runMigrations(s: StepContext, ev: EvacuationRecord, setup: MigrationSetup): Promise<MigrationOutcome> {
  const agent = s.agents.forHost(await hostRecord(s, setup.via));
  const queue: VmMoveRecord[] = ev.moves.filter((m) => m.state === "PLANNED" || m.state === "MIGRATING");
  let lastSave = 0;
  const save = async (force = false): Promise<void> => {
    ev.vmsMoved = ev.moves.filter((m) => m.state === "DONE").length;
    const total = Math.max(1, ev.moves.length);
    s.reportStepProgress(ev.moves.reduce((sum, m) => sum + (m.state === "DONE" ? 1 : m.state === "MIGRATING" ? m.progress : 0), 0) / total);
    if (force || Date.now() - lastSave >= progressSaveIntervalMs) {
      lastSave = Date.now();
      await s.checkpoint();
    }
  };
  let cancelled = false;

  const migrateOne = async (move: VmMoveRecord): Promise<void> => {
    move.state = "MIGRATING";
    move.attempts += 1;
    move.progress = 0;
    await save(true);
    // A VM already on its target (e.g. moved before a restart) comes back DONE without a task: nothing moved.
    let moved = false;
    try {
      for await (const p of agent.migrateVm({ vmUuid: move.vmUuid, targetHostUuid: move.toHostUuid }, callOptions(s))) {
        if (p.task) moved = true;
        move.progress = p.progress;
        if (p.state === MigrationState.DONE) move.progress = 1;
        await save();
      }
      move.state = "DONE";
      move.progress = 1;
      move.error = undefined;
      s.ctx.metrics.migrationEnded("succeeded", moved ? move.memoryBytes : 0);
      await save(true);
    } catch (err) {
      if (s.signal.aborted) throw err;
      const transient = isTransient(err) && s.remainingMs() > 2000;
      s.ctx.metrics.migrationEnded(transient ? "retried" : "failed", 0);
      if (transient) {
        // The agent or XAPI was briefly unavailable, or the VM is busy: try the same target again.
        move.attempts -= 1;
        move.state = "PLANNED";
        await new Promise((r) => setTimeout(r, 500));
        queue.unshift(move);
        return;
      }
      const message = err instanceof Error ? err.message : String(err);
      move.refusedBy = [...(move.refusedBy ?? []), move.toHostUuid];
      s.log.warn("migration failed", { vm: move.vmName, target: move.toHost, error: message });
      if (move.attempts >= maxAttemptsPerVm) {
        move.state = "FAILED";
        move.error = message;
        await save(true);
        return;
      }
      const exclude = new Map([[move.vmUuid, new Set(move.refusedBy)]]);
      const replanned = planEvacuation([{ uuid: move.vmUuid, name: move.vmName, memoryBytes: move.memoryBytes, localStorage: false }], await setup.targets(), setup.sourceCpuVendor, exclude);
      const next = replanned.moves[0];
      if (!next) {
        move.state = "FAILED";
        move.error = `${message}; no other member can take it (${replanned.blockers[0]?.reason ?? "no target"})`;
        await save(true);
        return;
      }
      move.toHost = next.target.name;
      move.toHostUuid = next.target.uuid;
      move.state = "PLANNED";
      move.error = `retrying on ${next.target.name} after: ${message}`;
      await save(true);
      queue.push(move);
    }
  };

  const worker = async (): Promise<void> => {
    for (;;) {
      if (s.signal.aborted) return;
      if (!cancelled && (await s.cancelRequested())) cancelled = true;
      if (cancelled) return;
      const move = queue.shift();
      if (!move) return;
      await migrateOne(move);
    }
  };
  const parallel = Math.max(1, ev.maxParallel);
  // Workers end when the queue is empty, but a failed move may re-queue itself: loop until settled.
  while (queue.length > 0 && !cancelled && !s.signal.aborted) {
    await Promise.all(Array.from({ length: Math.min(parallel, queue.length) }, worker));
  }
  if (cancelled) {
    for (const m of ev.moves) if (m.state === "PLANNED") m.state = "SKIPPED";
  }
  await save(true);
  return { completed: !cancelled };
}
