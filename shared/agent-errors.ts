/**
 * UNAVAILABLE because of an agent, told apart from the controller itself being unreachable: the
 * controller adds a google.rpc.ErrorInfo (domain "hostaggregates.agent") naming the hosts whose
 * agents failed and how, so a client can say which component to look at.
 */
import { ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../gen/google/rpc/error_details_pb.js";
import { unavailable } from "./errors.js";

/** ErrorInfo domain of agent failures reported by the controller. */
export const agentErrorDomain = "hostaggregates.agent";

/**
 * How the agent failed: AGENT_UNREACHABLE, it did not answer at all (not running, wrong endpoint,
 * network); AGENT_UNAVAILABLE, it answered UNAVAILABLE (usually it cannot reach its XenServer, or is stopping).
 */
export type AgentFailureReason = "AGENT_UNREACHABLE" | "AGENT_UNAVAILABLE";

/** An agent failure as an error carries it. */
export interface AgentFailure {
  reason: AgentFailureReason;
  /** The hosts whose agents failed. */
  hosts: string[];
}

/** True when the peer answered with a status (a transport failure before any answer has none). */
export const answeredByPeer = (err: ConnectError): boolean => err.metadata.has("grpc-status");

/** The agent failure an error carries, if any. */
export function agentFailureOf(err: unknown): AgentFailure | undefined {
  if (!(err instanceof ConnectError)) return undefined;
  const info = err.findDetails(ErrorInfoSchema).find((i) => i.domain === agentErrorDomain);
  if (!info) return undefined;
  return { reason: info.reason === "AGENT_UNAVAILABLE" ? "AGENT_UNAVAILABLE" : "AGENT_UNREACHABLE", hosts: (info.metadata.hosts ?? "").split(",").filter(Boolean) };
}

/** Adds the agent failure to an error (in place) unless it already carries one; returns the error. */
export function withAgentFailure(err: ConnectError, failure: AgentFailure): ConnectError {
  if (agentFailureOf(err)) return err;
  err.details.push({ desc: ErrorInfoSchema, value: { domain: agentErrorDomain, reason: failure.reason, metadata: { hosts: failure.hosts.join(",") } } });
  return err;
}

/** UNAVAILABLE because of the agents of `hosts`; the reason is the cause's when it carries one. */
export function agentUnavailable(message: string, hosts: string[], cause?: unknown): ConnectError {
  return withAgentFailure(unavailable(message), { reason: agentFailureOf(cause)?.reason ?? "AGENT_UNREACHABLE", hosts });
}
