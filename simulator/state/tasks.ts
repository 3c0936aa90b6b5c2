/** Task rows: creating them and ending them with success, failure or cancellation. */
import { newRef, newUuid } from "../ids.js";
import type { PoolDb } from "./pool-db.js";
import type { TaskRow } from "./rows.js";

/** Creates a pending task in a database. */
export function createTask(db: PoolDb, nameLabel: string, residentOn: string): TaskRow {
  const task: TaskRow = {
    ref: newRef(),
    uuid: newUuid(),
    nameLabel,
    nameDescription: "",
    created: Date.now(),
    finished: null,
    status: "pending",
    residentOn,
    progress: 0,
    result: "",
    errorInfo: [],
    otherConfig: {},
  };
  db.tasks.set(task.ref, task);
  return task;
}

/** Ends a task with success and its result fragment (`<value>…</value>`). */
export function succeedTask(task: TaskRow, resultXml: string): void {
  if (task.status !== "pending" && task.status !== "cancelling") return;
  task.status = "success";
  task.result = resultXml;
  task.progress = 1;
  task.finished = Date.now();
}

/** Ends a task with failure (or cancelled when the error is TASK_CANCELLED). */
export function failTask(task: TaskRow, errorInfo: readonly string[]): void {
  if (task.status !== "pending" && task.status !== "cancelling") return;
  task.status = errorInfo[0] === "TASK_CANCELLED" ? "cancelled" : "failure";
  task.errorInfo = [...errorInfo];
  task.progress = 1;
  task.finished = Date.now();
}
