/** SetHostEnabled: an operator enables or disables a host (not while in maintenance) — one transaction. */
import { failedPrecondition } from "../../shared/errors.js";
import type { ControllerContext } from "../context.js";
import { disable, enable, refusalOfEnabled } from "../model/lifecycle.js";
import type { HostRecord } from "../model/records.js";
import { checkHostName, violations } from "../model/validation.js";
import { assertValid, requireHost } from "./lookups.js";

/** Sets the host's enabled flag in the record. */
export async function setHostEnabled(ctx: ControllerContext, name: string, enabled: boolean): Promise<HostRecord> {
  assertValid(violations(checkHostName(name, "name")));
  const { store } = ctx;
  return await store.transaction(async () => {
    const refusal = refusalOfEnabled(await requireHost(store, name), enabled);
    if (refusal) throw failedPrecondition(refusal);
    await store.hosts.apply(name, enabled ? enable() : disable("disabled by an operator"));
    return (await store.hosts.get(name))!;
  });
}
