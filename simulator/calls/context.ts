/**
 * The context a message handler runs in: the world, the host that received the call, its session
 * and task, and detection of a toolstack restart during the call.
 */
import type { Machine, SessionRow } from "../state/machine.js";
import type { PoolDb } from "../state/pool-db.js";
import type { TaskRow } from "../state/rows.js";
import { createTask } from "../state/tasks.js";
import { fail } from "../xapi-error.js";
import type { World } from "../world.js";

/** Thrown when the host's toolstack restarted while a call was running; the reply is dropped. */
export class ToolstackRestarted extends Error {
  constructor() {
    super("toolstack restarted during the call");
  }
}

/** Everything a handler needs: the world, the host that received the call, its session and task. */
export class CallContext {
  private readonly generation: number;
  private readonly ownedTasks: { db: PoolDb; task: TaskRow }[] = [];
  /** A scripted error to raise part-way through this call (fault `midway`), until a handler takes it. */
  midwayFault: string[] | null = null;

  constructor(
    readonly world: World,
    readonly machine: Machine,
    /** Canonical method name (without `Async.`). */
    readonly method: string,
    readonly session: SessionRow | null,
    /** The task of an `Async.` call. */
    readonly task: TaskRow | null,
  ) {
    this.generation = machine.generation;
  }

  /** The pool database this host serves (a master's own database). */
  db(): PoolDb {
    const db = this.world.dbOf(this.machine);
    if (!db) return fail("INTERNAL_ERROR", "host has no database");
    return db;
  }

  /** This host's own record in its database. */
  localHostRef(): string {
    const row = this.world.hostRowOf(this.machine);
    if (!row) return fail("INTERNAL_ERROR", "host has no record");
    return row.ref;
  }

  /** Takes the midway fault (a handler that knows where its call fails part-way raises it there). */
  takeMidwayFault(): string[] | null {
    const fault = this.midwayFault;
    this.midwayFault = null;
    return fault;
  }

  /** Throws {@link ToolstackRestarted} if the toolstack restarted since the call began. */
  assertAlive(): void {
    if (this.machine.generation !== this.generation || this.world.closed) throw new ToolstackRestarted();
  }

  /** The Async task, or a task created for this synchronous call (destroyed when it returns). */
  ownTask(nameLabel: string): TaskRow {
    if (this.task) return this.task;
    const db = this.db();
    const task = createTask(db, nameLabel, this.localHostRef());
    this.ownedTasks.push({ db, task });
    return task;
  }

  /** Removes the tasks created by {@link ownTask} for a synchronous call. */
  cleanup(): void {
    for (const { db, task } of this.ownedTasks) {
      db.tasks.delete(task.ref);
      this.world.taskProgress.delete(task.ref);
      this.world.taskCancellers.delete(task.ref);
    }
  }
}
