/** DeleteAggregate: refused while hosts or a running operation remain — one transaction. */
import { failedPrecondition } from "../../shared/errors.js";
import type { Store } from "../store/store.js";
import { requireAggregate } from "./lookups.js";

/** Deletes an empty aggregate. */
export async function deleteAggregate(store: Store, id: number): Promise<void> {
  await store.transaction(async () => {
    const current = await requireAggregate(store, id);
    if (current.members.length > 0) {
      throw failedPrecondition(
        `aggregate ${id} is not empty: it still has host(s) ${current.members.map((m) => m.host).join(", ")}; remove them first`,
      );
    }
    const active = (await store.operations.unfinished(id))[0];
    if (active) throw failedPrecondition(`aggregate ${id} has an operation that has not ended: ${active.id}`);
    await store.aggregates.delete(id);
  });
}

