/** Setting a member's enabled flag in XenServer (host.enable / host.disable with auto_enable=false) through its pool's agents. */
import type { HostInfo } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import { agentUnavailable } from "../../shared/agent-errors.js";
import { failedPrecondition } from "../../shared/errors.js";
import { isTransient } from "../engine/failures.js";
import type { StepContext } from "../engine/step-spec.js";
import type { HostRecord } from "../model/records.js";
import { poolContacts } from "./evacuation-planning.js";
import { callOptions } from "./pool-view.js";

type Caller = Pick<StepContext, "ctx" | "agents" | "signal" | "remainingMs">;

/**
 * Enables or disables a member of an aggregate in XenServer, asking the agents of the pool in turn
 * (master first; an agent on a slave follows HOST_IS_SLAVE to the master). A refusal (a XenAPI
 * error) ends the attempt at once; when no agent answers, UNAVAILABLE naming the hosts tried.
 */
export async function setEnabledInPool(s: Caller, aggregateId: number, host: Pick<HostRecord, "name" | "uuid">, enabled: boolean): Promise<HostInfo> {
  // An empty uuid would mean "the contact's own host" to the agent.
  if (!host.uuid) throw failedPrecondition(`host "${host.name}" has not reported its XenServer uuid yet; try again once its agent heartbeats`);
  const contacts = await poolContacts(s, aggregateId);
  let lastError: unknown;
  for (const name of contacts) {
    const contact = await s.ctx.store.hosts.get(name);
    if (!contact) continue;
    try {
      return await s.agents.forHost(contact).setHostEnabled({ hostUuid: host.uuid, enabled }, callOptions(s));
    } catch (err) {
      if (!isTransient(err) || s.signal.aborted) throw err;
      lastError = err;
    }
  }
  throw agentUnavailable(
    `cannot ${enabled ? "enable" : "disable"} ${host.name} in XenServer: no agent of its pool answered (${contacts.join(", ")})` +
      (lastError instanceof Error ? `: ${lastError.message}` : ""),
    contacts,
    lastError,
  );
}
