/** Task records as xapi returns them, and their field list. */
import type { XapiValue } from "../xmlrpc-codec.js";
import { XDouble } from "../xmlrpc-codec.js";
import { NULL_REF } from "../ids.js";
import type { TaskRow } from "../state/rows.js";

/** A task record; `progress` is the live value (0..1). */
export function taskRecord(task: TaskRow, progress: number): Record<string, XapiValue> {
  return {
    uuid: task.uuid,
    name_label: task.nameLabel,
    name_description: task.nameDescription,
    allowed_operations: task.status === "pending" ? ["cancel"] : [],
    current_operations: {},
    created: new Date(task.created),
    finished: new Date(task.finished ?? 0),
    status: task.status,
    resident_on: task.residentOn,
    progress: new XDouble(progress),
    type: "<none/>",
    result: task.result,
    error_info: [...task.errorInfo],
    other_config: { ...task.otherConfig },
    subtask_of: NULL_REF,
    subtasks: [],
    backtrace: "()",
  };
}

/** Field names of task records. */
export const TASK_FIELDS: readonly string[] = [
  "uuid", "name_label", "name_description", "allowed_operations", "current_operations", "created", "finished", "status",
  "resident_on", "progress", "type", "result", "error_info", "other_config", "subtask_of", "subtasks", "backtrace",
];
