/** The task class: reads with live progress, task.cancel and task.destroy (docs/xenapi-notes.md §Async tasks). */
import { taskRecord, TASK_FIELDS } from "../records/task-record.js";
import type { TaskRow } from "../state/rows.js";
import { fail } from "../xapi-error.js";
import type { World } from "../world.js";
import { argString } from "./args.js";
import { lookupOrFail, registerClassReads, type ClassDef } from "./classes.js";
import type { Registry } from "./registry.js";

function liveProgress(world: World, task: TaskRow): number {
  if (task.status !== "pending" && task.status !== "cancelling") return task.progress;
  const fn = world.taskProgress.get(task.ref);
  return fn ? Math.min(0.99, Math.max(0, fn())) : task.progress;
}

/** The task class. */
export const TASK_CLASS: ClassDef<TaskRow> = {
  name: "task",
  all: (db) => db.tasks.values(),
  get: (db, ref) => db.tasks.get(ref),
  refOf: (r) => r.ref,
  uuidOf: (r) => r.uuid,
  nameOf: (r) => r.nameLabel,
  record: (ctx, _db, r) => taskRecord(r, liveProgress(ctx.world, r)),
  fields: TASK_FIELDS,
};

/** task.* messages: reads (status, result, error_info, progress, …), cancel, destroy. */
export function registerTaskCalls(reg: Registry): void {
  registerClassReads(reg, TASK_CLASS);
  reg.add({
    name: "task.cancel",
    params: ["task"],
    session: "normal",
    handler: (ctx, args) => {
      const db = ctx.db();
      const task = lookupOrFail(TASK_CLASS, db, argString(args, 0, "task"));
      if (task.status !== "pending") fail("OPERATION_NOT_ALLOWED", "Task is not pending");
      const cancel = ctx.world.taskCancellers.get(task.ref);
      if (!cancel) fail("OPERATION_NOT_ALLOWED", "This task cannot be cancelled");
      task.status = "cancelling";
      cancel();
      ctx.world.changed();
      return "";
    },
  });
  reg.add({
    name: "task.destroy",
    params: ["self"],
    session: "normal",
    handler: (ctx, args) => {
      const db = ctx.db();
      const task = lookupOrFail(TASK_CLASS, db, argString(args, 0, "self"));
      db.tasks.delete(task.ref);
      ctx.world.changed();
      return "";
    },
  });
}
