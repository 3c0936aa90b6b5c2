/**
 * SetHostEnabled: an operator enables or disables a host. A confirmed member is set in XenServer
 * first, through its pool's agents (host.enable, or host.disable with auto_enable=false so it
 * survives toolstack restarts), then in the record; when no agent answers, UNAVAILABLE and the
 * record is left as it was. A host in no aggregate (or a FAILED former master being disabled) is
 * set in the record only: it takes no VMs from the product whatever its flag, and AddHost enables it.
 */
import { failedPrecondition } from "../../shared/errors.js";
import type { IntakeContext } from "../context.js";
import { disable, enable, enabledInPool, refusalOfEnabled } from "../model/lifecycle.js";
import type { HostRecord } from "../model/records.js";
import { checkHostName, violations } from "../model/validation.js";
import { setEnabledInPool } from "../pool/host-enabled.js";
import { assertValid, requireHost } from "./lookups.js";

/** Deadline of the XenServer call (the agent reads the pool, calls the master and reads it again). */
const xenServerCallMs = 30_000;

/** Sets the host's enabled flag in XenServer (members) and in the record. */
export async function setHostEnabled(ctx: IntakeContext, name: string, enabled: boolean): Promise<HostRecord> {
  assertValid(violations(checkHostName(name, "name")));
  const { store } = ctx;
  const before = await requireHost(store, name);
  const refusal = refusalOfEnabled(before, enabled);
  if (refusal) throw failedPrecondition(refusal);
  if (enabledInPool(before)) {
    const deadline = Date.now() + xenServerCallMs;
    await setEnabledInPool({ ctx, agents: ctx.agents, signal: ctx.engine.shutdown, remainingMs: () => deadline - Date.now() }, before.aggregateId!, before, enabled);
  }
  return await store.transaction(async () => {
    const host = await requireHost(store, name);
    const again = refusalOfEnabled(host, enabled);
    if (again) throw failedPrecondition(again);
    if (host.aggregateId !== before.aggregateId || host.membership !== before.membership) {
      throw failedPrecondition(`host "${name}" changed aggregate or membership meanwhile (now ${host.membership ?? "in no aggregate"}); try again`);
    }
    await store.hosts.apply(name, enabled ? enable() : disable("disabled by an operator"));
    return (await store.hosts.get(name))!;
  });
}
