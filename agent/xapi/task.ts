/** XenAPI Async calls: start one, poll its task until it ends, cancel it when the caller gives up. */
import { delay } from "./delay.js";
import { WaitTimeoutError, XapiError } from "./errors.js";
import type { XapiSession } from "./session.js";
import { float, str, strings } from "./values.js";

/** One observation of a task. */
export interface TaskSnapshot {
  status: "pending" | "success" | "failure" | "cancelling" | "cancelled" | string;
  progress: number;
}

/** Options of a task watch. */
export interface TaskWatchOptions {
  pollIntervalMs: number;
  timeoutMs: number;
  signal?: AbortSignal;
  /** The Async method, for error messages. */
  method: string;
}

/** The task was cancelled (by us or someone else). */
export class TaskCancelledError extends Error {
  override readonly name = "TaskCancelledError";
}

const terminal = new Set(["success", "failure", "cancelled"]);

/**
 * Polls task.get_status / task.get_progress and yields every snapshot until the task ends.
 * Returns task.get_result on success; throws XapiError (from task.get_error_info) on failure.
 * If the consumer stops early, the caller's signal aborts or the deadline passes, the task is
 * cancelled (task.cancel). The task is always destroyed at the end (task.destroy).
 */
export async function* watchTask(session: XapiSession, task: string, options: TaskWatchOptions): AsyncGenerator<TaskSnapshot, string> {
  const started = Date.now();
  let status = "pending";
  const cleanup = { timeoutMs: 5000 };
  try {
    for (;;) {
      status = str(await session.call("task.get_status", [task], { signal: options.signal }));
      const progress = float(await session.call("task.get_progress", [task], { signal: options.signal }));
      yield { status, progress };
      if (status === "success") return str(await session.call("task.get_result", [task]));
      if (status === "failure") {
        const info = strings(await session.call("task.get_error_info", [task]));
        throw new XapiError(info[0] || "TASK_FAILED", info.slice(1), options.method);
      }
      if (status === "cancelled") throw new TaskCancelledError(`${options.method} task was cancelled`);
      if (Date.now() - started >= options.timeoutMs) throw new WaitTimeoutError(`${options.method} task to finish`, Date.now() - started, `progress ${progress}`);
      await delay(options.pollIntervalMs, options.signal);
    }
  } finally {
    if (!terminal.has(status)) await cancelTask(session, task, options.pollIntervalMs);
    await session.call("task.destroy", [task], cleanup).catch(() => undefined);
  }
}

/** task.cancel, then a short bounded wait for the task to settle (best effort, never throws). */
async function cancelTask(session: XapiSession, task: string, pollIntervalMs: number): Promise<void> {
  const options = { timeoutMs: 5000 };
  try {
    await session.call("task.cancel", [task], options);
    for (let i = 0; i < 20; i++) {
      if (terminal.has(str(await session.call("task.get_status", [task], options)))) return;
      await delay(pollIntervalMs);
    }
  } catch {
    // The task may already be gone or the host restarting; destroy is attempted next anyway.
  }
}
