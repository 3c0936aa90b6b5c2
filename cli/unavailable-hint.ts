/** What to check after UNAVAILABLE: the controller itself, or the agent the controller could not use. */
import type { ConnectError } from "@connectrpc/connect";
import { agentFailureOf, answeredByPeer } from "../shared/agent-errors.js";

const hostsText = (hosts: string[]) => (hosts.length === 1 ? `host "${hosts[0]}"` : `hosts ${hosts.map((h) => `"${h}"`).join(", ")}`);

/** The hint line for an UNAVAILABLE error from a call to the controller at `endpoint`. */
export function unavailableHint(err: ConnectError, endpoint: string): string {
  const agent = agentFailureOf(err);
  if (agent?.reason === "AGENT_UNREACHABLE") {
    const first = agent.hosts[0] ?? "HOST";
    return `the controller could not reach the agent of ${hostsText(agent.hosts)}: is aggregates-agent running there, and its endpoint reachable from the controller? ("aggctl host-show ${first}" shows its liveness)`;
  }
  if (agent) {
    return `the agent of ${hostsText(agent.hosts)} answered but cannot serve (usually it cannot reach its XenServer's XAPI, or it is stopping); check that host, then try again`;
  }
  if (answeredByPeer(err)) return "the controller answered but cannot complete this now (the message says what it waits for); try again";
  return `is the controller running? check AGGREGATES_ENDPOINT / --endpoint (${endpoint})`;
}
