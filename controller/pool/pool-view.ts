/** Reading the real pool through the agents. */
import type { PoolInfo } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import { agentUnavailable } from "../../shared/agent-errors.js";
import { unavailable } from "../../shared/errors.js";
import type { HostRecord } from "../model/records.js";
import type { StepContext } from "../engine/step-spec.js";

/** A registered host, or a step failure naming it. */
export async function hostRecord(s: Pick<StepContext, "ctx">, name: string): Promise<HostRecord> {
  const host = await s.ctx.store.hosts.get(name);
  if (!host) throw unavailable(`host "${name}" is no longer registered`);
  return host;
}

/** Call options bounded by the step's deadline and cancelled on shutdown. */
export function callOptions(s: Pick<StepContext, "signal" | "remainingMs">, capMs = Number.POSITIVE_INFINITY) {
  return { signal: s.signal, timeoutMs: Math.max(1, Math.min(capMs, s.remainingMs())) };
}

/**
 * The pool as its master reports it, asking the given hosts' agents in order (an agent on a
 * member follows HOST_IS_SLAVE to the master). Throws UNAVAILABLE when none answers.
 */
export async function readPool(s: Pick<StepContext, "ctx" | "agents" | "signal" | "remainingMs">, hostNames: string[]): Promise<{ pool: PoolInfo; via: string }> {
  let lastError: unknown;
  for (const name of hostNames) {
    const host = await s.ctx.store.hosts.get(name);
    if (!host) continue;
    try {
      const pool = await s.agents.forHost(host).getPoolInfo({}, callOptions(s, 30_000));
      return { pool, via: name };
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError ?? agentUnavailable(`no agent of ${hostNames.join(", ") || "any member"} answered`, hostNames);
}

/** The pool member with a host's uuid. */
export function memberOf(pool: PoolInfo, uuid: string | null | undefined) {
  return uuid ? pool.members.find((m) => m.uuid === uuid) : undefined;
}
