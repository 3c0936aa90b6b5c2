/**
 * Whether the agent a host name is registered with still answers at its endpoint: asked before
 * another agent may take the name over (RegisterHost from a different endpoint).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { answeredByPeer } from "../../shared/agent-errors.js";
import type { AgentLookup } from "../context.js";
import type { HostRecord } from "../model/records.js";

/** What the registered endpoint said: still this host's agent, or free to be taken over, and why. */
export type HolderAnswer = { holds: boolean; detail: string };

/**
 * Asks the registered endpoint briefly (GetHostInfo). It still holds the name when an agent answers
 * there, unless that agent reports another XenServer host than the recorded one (another agent now
 * listens on that port). No answer at all (refused, reset, timed out) frees the name.
 */
export async function askRegisteredAgent(agents: AgentLookup, host: HostRecord, timeoutMs: number): Promise<HolderAnswer> {
  try {
    const info = await agents.forHost(host).getHostInfo({}, { timeoutMs });
    if (host.uuid && info.uuid && info.uuid !== host.uuid) {
      return { holds: false, detail: `the agent now at ${host.agentEndpoint} reports another XenServer host (${info.uuid})` };
    }
    return { holds: true, detail: `its agent at ${host.agentEndpoint} still answers` };
  } catch (err) {
    // An answer with a status (its XAPI down, a refused credential) still means an agent runs there.
    if (err instanceof ConnectError && (answeredByPeer(err) || !isTransportFailure(err))) {
      return { holds: true, detail: `its agent at ${host.agentEndpoint} still answers (${err.rawMessage})` };
    }
    return { holds: false, detail: `nothing answers at ${host.agentEndpoint} (${err instanceof Error ? err.message : String(err)})` };
  }
}

/** Connection failures and timeouts: the codes a call gets when no agent answered. */
function isTransportFailure(err: ConnectError): boolean {
  return err.code === Code.Unavailable || err.code === Code.DeadlineExceeded || err.code === Code.Canceled;
}
