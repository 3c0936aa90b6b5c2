/** ForgetHost: deletes a registered host that is in no aggregate — one transaction. */
import { failedPrecondition } from "../../shared/errors.js";
import type { ControllerContext } from "../context.js";
import { checkHostName, violations } from "../model/validation.js";
import { assertValid, requireHost } from "./lookups.js";

/** Forgets a host. */
export function forgetHost(ctx: ControllerContext, name: string): void {
  assertValid(violations(checkHostName(name, "name")));
  const { store } = ctx;
  store.transaction(() => {
    const host = requireHost(store, name);
    if (host.aggregateId !== null) throw failedPrecondition(`host "${name}" is in aggregate ${host.aggregateId}; remove it first`);
    store.hosts.delete(name);
  });
}
