/** SetHostEnabled: an operator enables or disables a host (not while in maintenance) — one transaction. */
import { failedPrecondition } from "../../shared/errors.js";
import type { ControllerContext } from "../context.js";
import { disable, enable, refusalOfEnabled } from "../model/lifecycle.js";
import type { HostRecord } from "../model/records.js";
import { checkHostName, violations } from "../model/validation.js";
import { assertValid, requireHost } from "./lookups.js";

/** Sets the host's enabled flag in the record. */
export function setHostEnabled(ctx: ControllerContext, name: string, enabled: boolean): HostRecord {
  assertValid(violations(checkHostName(name, "name")));
  const { store } = ctx;
  return store.transaction(() => {
    const refusal = refusalOfEnabled(requireHost(store, name), enabled);
    if (refusal) throw failedPrecondition(refusal);
    store.hosts.apply(name, enabled ? enable() : disable("disabled by an operator"));
    return store.hosts.get(name)!;
  });
}
