/** ResumeOperation: records the operator's go-ahead on a paused operation in one transaction, then schedules it again. */
import { failedPrecondition } from "../../shared/errors.js";
import type { IntakeContext } from "../context.js";
import { isPaused, nowIso, type OperationRecord } from "../model/records.js";
import { requireOperation } from "./lookups.js";

/** Continues a paused operation: the step that paused runs again (a hook is run again). */
export async function resumeOperation(ctx: IntakeContext, id: string): Promise<OperationRecord> {
  const { store } = ctx;
  const op = await store.transaction(async () => {
    const found = await requireOperation(store, id);
    if (!isPaused(found) || found.kind !== "ROLLING_MAINTENANCE") {
      throw failedPrecondition(`operation "${found.id}" (${found.kind}, ${found.state}) is not paused; only a paused rolling maintenance can be resumed`);
    }
    const pause = found.params.pause!;
    pause.resumed = true;
    await store.operations.save(found, nowIso());
    await store.events.append({ kind: "operation.resumed", aggregateId: found.aggregateId, host: pause.host, operationId: found.id, message: `${found.id} resumed (${pause.step})` });
    return found;
  });
  ctx.engine.schedule(op);
  return (await store.operations.get(id))!;
}
