/** The VMs resident on a host as its pool reports them, with where maintenance moved them from. */
import type { ControllerContext } from "../context.js";
import { requireHost } from "../intake/lookups.js";
import { poolContacts } from "../pool/evacuation-planning.js";
import { isGuest } from "../pool/guests.js";
import { callOptions } from "../pool/pool-view.js";

/** A VM resident on a host. */
export interface ResidentVm {
  uuid: string;
  name: string;
  powerState: string;
  memoryBytes: number;
  /** The host maintenance moved it from, when it was moved here. */
  originHost: string;
}

/** How long GetHost waits for the pool's answer before it answers without the VMs (and says why). */
export const residentVmsTimeoutMs = 1500;

/** Asks the host's pool (through a member's agent) for the guests resident on it. */
export async function residentVms(ctx: ControllerContext, name: string, timeoutMs = residentVmsTimeoutMs): Promise<ResidentVm[]> {
  const host = await requireHost(ctx.store, name);
  const contactName = host.aggregateId !== null ? ((await poolContacts({ ctx }, host.aggregateId))[0] ?? name) : name;
  const contact = await requireHost(ctx.store, contactName);
  const { vms } = await ctx.agents.forHost(contact).listVms({ hostUuid: host.uuid ?? "" }, callOptions({ signal: AbortSignal.timeout(timeoutMs), remainingMs: () => timeoutMs }));
  const guests = vms.filter(isGuest);
  const origins = await ctx.store.vmOrigins.byVm(guests.map((v) => v.uuid));
  return guests.map((v) => {
    const origin = origins.get(v.uuid);
    return { uuid: v.uuid, name: v.name, powerState: v.powerState, memoryBytes: Number(v.memoryBytes), originHost: origin?.movedTo === name ? origin.originHost : "" };
  });
}
