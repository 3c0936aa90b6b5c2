/**
 * What the controller and the surviving members can tell about a pool master. A master has
 * failed only when (1) its agent does not answer, or answers that its own XAPI does not, (2) its
 * heartbeats agree (silent for three intervals, or reporting XAPI unreachable), and (3) at least
 * one surviving member's agent confirms that it cannot reach the master either (emergency mode,
 * or the pool cannot be read through the master) while no member still reads the pool through
 * it. A master only the controller cannot reach is a partition, never a failure.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { HostRole, type HostInfo } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import type { AgentLookup, ControllerContext } from "../context.js";
import type { AggregateRecord, HostRecord } from "../model/records.js";
import { heartbeatAgeMs, livenessWindowMs } from "../model/liveness.js";

/** How the master looks from the controller. */
export interface MasterProbe {
  master: HostRecord;
  /** Its agent answered GetHostInfo, so its XAPI answers too. */
  answers: boolean;
  /** Its role when it answered. */
  role?: HostRole;
  /** What it answered, or why it counts as unreachable. */
  detail: string;
  /** Heartbeats say it is down: silent for three intervals, or reporting its XAPI unreachable. */
  heartbeatDown: boolean;
  heartbeatDetail: string;
}

/** What one surviving member says about the master. */
export interface MemberReport {
  host: string;
  /** confirms: cannot reach the master; reaches: reads the pool through it; unknown: no answer. */
  view: "confirms" | "reaches" | "unknown";
  detail: string;
  /** This member is already the master of the pool (promoted earlier). */
  promoted: boolean;
  /** Its answer, when it gave one. */
  info?: HostInfo;
}

/** The verdict of one assessment. */
export type MasterVerdict =
  /** The master answers (or its heartbeats are fine). */
  | "healthy"
  /** Unreachable from the controller; members not asked (yet). */
  | "suspect"
  /** Unreachable from the controller, but a member still reaches it. */
  | "partition"
  /** Unreachable from the controller and no member answered. */
  | "unconfirmed"
  /** Unreachable from everywhere: failed. */
  | "failed";

/** A confirmed master failure, as recorded on the recovery operation. */
export interface MasterFailure {
  /** The failed master's host name. */
  master: string;
  /** The evidence, for people. */
  evidence: string;
}

/** True for the errors that mean "did not answer" (as opposed to answering with a refusal). */
export function isUnreachable(err: unknown): boolean {
  if (!(err instanceof ConnectError)) return false;
  return err.code === Code.Unavailable || err.code === Code.DeadlineExceeded || err.code === Code.Canceled;
}

const errorText = (err: unknown) => (err instanceof ConnectError ? err.rawMessage : err instanceof Error ? err.message : String(err));

/** Call options for a probe: a short deadline, cancelled on shutdown. */
export function probeOptions(signal: AbortSignal, timeoutMs: number) {
  return { signal, timeoutMs };
}

/** What the heartbeats say about a host. */
export function heartbeatEvidence(host: HostRecord, heartbeatIntervalMs: number, now = Date.now()): { down: boolean; detail: string } {
  const silentMs = heartbeatAgeMs(host, now);
  if (silentMs > livenessWindowMs(heartbeatIntervalMs)) return { down: true, detail: `no heartbeat for ${(silentMs / 1000).toFixed(1)} s` };
  if (host.liveness === "FAILED" || host.liveness === "UNREACHABLE") return { down: true, detail: `liveness ${host.liveness}` };
  if (host.liveness === "XAPI_UNREACHABLE" || host.poolFacts?.xapiReachable === false) return { down: true, detail: "its agent reports its XAPI unreachable" };
  return { down: false, detail: "heartbeats report it alive" };
}

/** Asks the master's agent for its host facts and combines the answer with its heartbeats. */
export async function probeMaster(
  ctx: ControllerContext,
  agents: AgentLookup,
  master: HostRecord,
  options: { signal: AbortSignal; timeoutMs: number },
): Promise<MasterProbe> {
  const heartbeat = heartbeatEvidence(master, ctx.heartbeatIntervalMs);
  try {
    const info = await agents.forHost(master).getHostInfo({}, probeOptions(options.signal, options.timeoutMs));
    return { master, answers: true, role: info.role, detail: `its agent answers (role ${HostRole[info.role]})`, heartbeatDown: heartbeat.down, heartbeatDetail: heartbeat.detail };
  } catch (err) {
    if (options.signal.aborted) throw err;
    if (!isUnreachable(err)) {
      return { master, answers: true, detail: `its agent answers with an error: ${errorText(err)}`, heartbeatDown: heartbeat.down, heartbeatDetail: heartbeat.detail };
    }
    return { master, answers: false, detail: `agent or XAPI unreachable (${errorText(err)})`, heartbeatDown: heartbeat.down, heartbeatDetail: heartbeat.detail };
  }
}

/** The confirmed members of an aggregate other than the master (the hosts that can confirm or take over). */
export async function survivingMembers(ctx: ControllerContext, aggregate: AggregateRecord): Promise<HostRecord[]> {
  return (await ctx.store.hosts.members(aggregate.id)).filter((h) => h.membership === "MEMBER" && h.name !== aggregate.masterHost);
}

/** How one member's answer reads. */
export function classifyMember(host: string, info: HostInfo, poolUuid: string | null): MemberReport {
  const base = { host, info, promoted: false };
  if (info.emergencyMode) return { ...base, view: "confirms", detail: `${host} is in emergency mode (its master ${info.masterAddress || "?"} is unreachable)` };
  if (info.role === HostRole.MASTER) {
    if (poolUuid && info.poolUuid === poolUuid) return { ...base, view: "confirms", promoted: true, detail: `${host} is already the master of the pool` };
    return { ...base, view: "unknown", detail: `${host} is the master of another pool (${info.poolUuid || "unknown"})` };
  }
  if (info.role === HostRole.SLAVE && info.poolUuid === "") {
    return { ...base, view: "confirms", detail: `${host} cannot read the pool through its master ${info.masterAddress || "?"}` };
  }
  if (info.role === HostRole.SLAVE) return { ...base, view: "reaches", detail: `${host} reads the pool through its master ${info.masterAddress}` };
  return { ...base, view: "unknown", detail: `${host} answers with role ${HostRole[info.role]}` };
}

/** Asks every surviving member's agent, in parallel, whether it can reach the master. */
export async function askMembers(
  agents: AgentLookup,
  aggregate: AggregateRecord,
  members: HostRecord[],
  options: { signal: AbortSignal; timeoutMs: number },
): Promise<MemberReport[]> {
  return Promise.all(
    members.map(async (m): Promise<MemberReport> => {
      try {
        const info = await agents.forHost(m).getHostInfo({}, probeOptions(options.signal, options.timeoutMs));
        return classifyMember(m.name, info, aggregate.poolUuid);
      } catch (err) {
        return { host: m.name, view: "unknown", promoted: false, detail: `${m.name} did not answer (${errorText(err)})` };
      }
    }),
  );
}

/** The verdict from the master's probe and (when asked) the members' reports. */
export function verdictOf(probe: MasterProbe, members?: MemberReport[]): MasterVerdict {
  if (probe.answers || !probe.heartbeatDown) return "healthy";
  if (!members) return "suspect";
  if (members.some((m) => m.view === "reaches")) return "partition";
  if (members.some((m) => m.view === "confirms")) return "failed";
  return "unconfirmed";
}

/** The evidence of an assessment, for events and status reasons. */
export function describeEvidence(probe: MasterProbe, members: MemberReport[] = []): string {
  const parts = [`${probe.master.name}: ${probe.detail}; heartbeats: ${probe.heartbeatDetail}`];
  if (members.length > 0) parts.push(`members: ${members.map((m) => m.detail).join("; ")}`);
  return parts.join("; ");
}
