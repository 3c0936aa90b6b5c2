/** ForgetHost: deletes a registered host that is in no aggregate — one transaction. */
import { failedPrecondition } from "../../shared/errors.js";
import type { ControllerContext } from "../context.js";
import { checkHostName, violations } from "../model/validation.js";
import { assertValid, requireHost } from "./lookups.js";

/** Forgets a host. */
export async function forgetHost(ctx: ControllerContext, name: string): Promise<void> {
  assertValid(violations(checkHostName(name, "name")));
  const { store } = ctx;
  await store.transaction(async () => {
    const host = await requireHost(store, name);
    if (host.aggregateId !== null) throw failedPrecondition(`host "${name}" is in aggregate ${host.aggregateId}; remove it first`);
    await store.hosts.delete(name);
  });
}
