/**
 * Dispatch of one XML-RPC call on one simulated host, with xapi's checks in xapi's order, into a
 * XenAPI reply envelope or a dropped connection; `Async.` calls run as tasks
 * (docs/xenapi-notes.md §Wire format, §Async tasks).
 */
import { applyFault } from "../faults.js";
import type { Machine, SessionRow } from "../state/machine.js";
import { createTask, failTask, succeedTask } from "../state/tasks.js";
import { XapiError, describeError } from "../xapi-error.js";
import {
  failureResponse,
  serializeValue,
  successResponse,
  type RpcInput,
  type XapiValue,
} from "../xmlrpc-codec.js";
import type { World } from "../world.js";
import { CallContext, ToolstackRestarted } from "./context.js";
import type { MethodSpec, Registry } from "./registry.js";

/** What to send: a XenAPI envelope, a bare value (system.listMethods), or nothing (drop the connection). */
export type DispatchResult = { kind: "reply"; value: XapiValue } | { kind: "drop" };

function failure(description: readonly string[]): DispatchResult {
  return { kind: "reply", value: failureResponse(description) };
}

/** MESSAGE_PARAMETER_COUNT_MISMATCH check; counts exclude the session. */
function checkParamCount(wireName: string, spec: MethodSpec, params: RpcInput[]): string[] | null {
  // With no parameter at all, a session-taking call reports -1 received (the session is missing too).
  const received = spec.session === "none" ? params.length : params.length - 1;
  const expected = spec.params.length;
  const minimum = expected - (spec.optional ?? 0);
  if (received < minimum || received > expected) {
    return ["MESSAGE_PARAMETER_COUNT_MISMATCH", wireName, String(expected), String(received)];
  }
  return null;
}

function checkSession(machine: Machine, spec: MethodSpec, params: RpcInput[]): SessionRow {
  const ref = params[0];
  const text = typeof ref === "string" ? ref : String(ref);
  const session = typeof ref === "string" ? machine.sessions.get(ref) : undefined;
  if (!session || (spec.session === "normal" && session.local)) throw new XapiError("SESSION_INVALID", [text]);
  return session;
}

/**
 * Handles one XML-RPC call on one host: method lookup (incl. `Async.` and the
 * underscore alias), parameter count, scripted faults, emergency mode,
 * HOST_IS_SLAVE, session check, then the handler. Never throws.
 */
export async function dispatch(
  world: World,
  registry: Registry,
  machine: Machine,
  wireName: string,
  params: RpcInput[],
): Promise<DispatchResult> {
  if (!machine.reachable) return { kind: "drop" };
  if (wireName === "system.listMethods") return { kind: "reply", value: registry.names() };

  const isAsync = wireName.startsWith("Async.");
  const baseName = isAsync ? wireName.slice("Async.".length) : wireName;
  const spec = registry.lookup(baseName);
  if (!spec) return failure(["MESSAGE_METHOD_UNKNOWN", wireName]);
  if (isAsync && !spec.async) {
    return failure(["Fault", `No async mode for this operation (rpc: ${wireName})`]);
  }
  const countError = checkParamCount(wireName, spec, params);
  if (countError) return failure(countError);

  const fault = await applyFault(world, machine, isAsync ? `Async.${spec.name}` : spec.name);
  if (!machine.reachable) return { kind: "drop" };
  if (fault.error) return failure(fault.error);

  if (machine.emergency && !spec.emergency) return failure(machine.emergency);
  if (machine.role === "slave" && !spec.emergency) {
    const masterAddress = machine.poolConf.role === "slave" ? machine.poolConf.masterAddress : "";
    return failure(["HOST_IS_SLAVE", masterAddress]);
  }

  let session: SessionRow | null = null;
  try {
    if (spec.session !== "none") session = checkSession(machine, spec, params);
  } catch (error) {
    return failure(describeError(error));
  }
  const args = spec.session === "none" ? params : params.slice(1);

  if (isAsync) return startAsync(world, spec, machine, session, args, fault.midway);

  const ctx = new CallContext(world, machine, spec.name, session, null);
  ctx.midwayFault = fault.midway;
  try {
    const value = await spec.handler(ctx, args);
    ctx.assertAlive();
    // A midway fault the handler did not place itself: the work is done, the answer is the error.
    const late = ctx.takeMidwayFault();
    if (late) return failure(late);
    return { kind: "reply", value: successResponse(value) };
  } catch (error) {
    if (error instanceof ToolstackRestarted) return { kind: "drop" };
    return failure(describeError(error));
  } finally {
    ctx.cleanup();
  }
}

function startAsync(
  world: World,
  spec: MethodSpec,
  machine: Machine,
  session: SessionRow | null,
  args: RpcInput[],
  midway: string[] | null,
): DispatchResult {
  const db = world.dbOf(machine);
  const hostRow = world.hostRowOf(machine);
  if (!db || !hostRow) return failure(["INTERNAL_ERROR", "host has no database"]);
  const task = createTask(db, `Async.${spec.name}`, hostRow.ref);
  const ctx = new CallContext(world, machine, spec.name, session, task);
  world.changed();
  void (async () => {
    try {
      const fault = await applyFault(world, machine, spec.name);
      if (fault.error) throw new XapiError(fault.error[0] ?? "INTERNAL_ERROR", fault.error.slice(1));
      ctx.midwayFault = midway ?? fault.midway;
      const value = await spec.handler(ctx, args);
      const late = ctx.takeMidwayFault();
      if (late) throw new XapiError(late[0] ?? "INTERNAL_ERROR", late.slice(1));
      succeedTask(task, serializeValue(value));
    } catch (error) {
      if (task.status === "cancelling") failTask(task, ["TASK_CANCELLED", task.ref]);
      else if (error instanceof ToolstackRestarted) failTask(task, ["INTERNAL_ERROR", "xapi restarted"]);
      else failTask(task, describeError(error));
    } finally {
      world.taskProgress.delete(task.ref);
      world.taskCancellers.delete(task.ref);
      world.changed();
    }
  })();
  return { kind: "reply", value: successResponse(task.ref) };
}
