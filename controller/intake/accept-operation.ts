/** Records an accepted operation (inside the request's transaction); the request schedules it once committed. */
import { randomUUID } from "node:crypto";
import type { ControllerContext } from "../context.js";
import { nowIso, type OperationKindName, type OperationOf, type OperationParamsByKind } from "../model/records.js";

/** Inserts a PENDING operation and its event; the aggregate's pool state follows from it (model/lifecycle). */
export async function recordOperation<K extends OperationKindName>(ctx: ControllerContext, kind: K, aggregateId: number, host: string | null, params: OperationParamsByKind[K]): Promise<OperationOf<K>> {
  const op = await ctx.store.operations.insert({ id: `op-${randomUUID()}`, kind, aggregateId, host, steps: [], params }, nowIso());
  await ctx.store.events.append({ kind: "operation.accepted", aggregateId, host, operationId: op.id, message: `${kind} ${host ?? `aggregate ${aggregateId}`} accepted` });
  return op;
}
