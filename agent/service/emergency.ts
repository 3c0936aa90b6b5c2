/**
 * Master-failure calls: emergency_transition_to_master and emergency_reset_master go to this
 * agent's own host with a host-local session; recover_slaves goes to the (new) master. Each waits
 * until the hosts answer in their new roles.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RecoverSlavesResponseSchema } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import { failedPrecondition, invalidArgument } from "../../shared/errors.js";
import { XapiUnreachableError } from "../xapi/errors.js";
import { strings } from "../xapi/values.js";
import { notYet, ready, waitUntil } from "../xapi/wait.js";
import type { AgentContext } from "./agent-context.js";
import { poolInfo, type HostInfoInit } from "./convert.js";
import { Deadline, sameAddress } from "./deadline.js";
import { ownHostInfo } from "./own-host.js";
import { probePool } from "./pool-probe.js";
import { readPool } from "./pool-snapshot.js";

/** Tolerates a dropped connection on a call that restarts the toolstack: the wait decides. */
function tolerateRestart(ctx: AgentContext, what: string) {
  return (err: unknown) => {
    if (!(err instanceof XapiUnreachableError) || err.neverSent || err.reason === "aborted") throw err;
    ctx.log.warn(`${what}: connection lost during the call; checking the outcome`, { error: err.message });
  };
}

/** Promotes the own host (a slave whose master died) to master; no-op when it already is one. */
export async function emergencyTransitionToMaster(ctx: AgentContext, signal: AbortSignal): Promise<HostInfoInit> {
  const deadline = new Deadline(ctx.timings.emergencyTimeoutMs, `${ctx.hostName} to become a master`);
  const state = await ctx.xapi.homeState({ signal });
  if (state.kind === "unreachable") throw state.error;
  if (state.kind !== "master") {
    ctx.log.info("emergency: transition to master", { from: state.kind });
    await ctx.xapi
      .local((call) => call("pool.emergency_transition_to_master"), { signal, timeoutMs: deadline.remaining() })
      .catch(tolerateRestart(ctx, "emergency transition"));
    await waitUntil(
      { what: `${ctx.hostName} to restart as a master`, timeoutMs: deadline.remaining(), intervalMs: ctx.timings.pollIntervalMs, signal },
      async (probe) => {
        const now = await ctx.xapi.homeState({ signal: probe });
        return now.kind === "master" ? ready(true) : notYet(now.kind);
      },
    );
  }
  return ownHostInfo(ctx, false, { signal });
}

/** Repoints the own host at the master at masterAddress; no-op when it already follows it. */
export async function emergencyResetMaster(ctx: AgentContext, masterAddress: string, signal: AbortSignal): Promise<HostInfoInit> {
  const master = masterAddress.trim();
  if (!master) throw invalidArgument([{ field: "master_address", description: "required" }]);
  if (sameAddress(master, ctx.xapi.address)) throw invalidArgument([{ field: "master_address", description: "is this host itself" }]);
  const deadline = new Deadline(ctx.timings.emergencyTimeoutMs, `${ctx.hostName} to follow ${master}`);
  const state = await ctx.xapi.homeState({ signal });
  if (state.kind === "unreachable") throw state.error;
  if (state.kind !== "slave" || !sameAddress(state.masterAddress, master)) {
    ctx.log.info("emergency: reset master", { from: state.kind, master });
    await ctx.xapi
      .local((call) => call("pool.emergency_reset_master", [master]), { signal, timeoutMs: deadline.remaining() })
      .catch(tolerateRestart(ctx, "emergency reset master"));
    await waitUntil(
      { what: `${ctx.hostName} to restart as a slave of ${master}`, timeoutMs: deadline.remaining(), intervalMs: ctx.timings.pollIntervalMs, signal },
      async (probe) => {
        const now = await ctx.xapi.homeState({ signal: probe });
        return now.kind === "slave" && sameAddress(now.masterAddress, master) ? ready(true) : notYet(now.kind);
      },
    );
  }
  return ownHostInfo(ctx, false, { signal });
}

type RecoverSlavesInit = MessageInitShape<typeof RecoverSlavesResponseSchema>;

/** On the own host (a master): pool.recover_slaves, then waits until every recovered host is a live slave of it. */
export async function recoverSlaves(ctx: AgentContext, signal: AbortSignal): Promise<RecoverSlavesInit> {
  const deadline = new Deadline(ctx.timings.emergencyTimeoutMs, "recovered slaves to follow this master");
  const state = await ctx.xapi.homeState({ signal });
  if (state.kind === "unreachable") throw state.error;
  if (state.kind !== "master") throw failedPrecondition(`${ctx.hostName} is not a master (${state.kind}); RecoverSlaves runs on the new master`);
  const refs = strings(await ctx.xapi.home.call("pool.recover_slaves", [], { signal, timeoutMs: deadline.remaining() }));
  const before = await readPool(ctx.xapi.home, { signal });
  const recovered = before.hosts.filter((h) => refs.includes(h.ref));
  const me = before.hosts.find((h) => h.ref === before.pool.masterRef);
  const myAddress = me?.address || ctx.xapi.address;
  ctx.log.info("emergency: recovered slaves", { hosts: recovered.map((h) => h.name) });

  const after = await waitUntil(
    { what: "recovered hosts to rejoin this master", timeoutMs: deadline.remaining(), intervalMs: ctx.timings.pollIntervalMs, signal },
    async (probe) => {
      for (const host of recovered) {
        const answer = await ctx.xapi.endpointState(ctx.xapi.endpointOf(host.address), { signal: probe });
        if (answer.kind !== "slave" || !sameAddress(answer.masterAddress, myAddress)) return notYet(`${host.name} answers as ${answer.kind}`);
      }
      const read = await probePool(ctx.xapi.home, probe);
      if (!read.done) return read;
      const notLive = recovered.filter((h) => !read.value.hosts.find((x) => x.uuid === h.uuid)?.metrics.live);
      return notLive.length === 0 ? ready(read.value) : notYet(`not live yet: ${notLive.map((h) => h.name).join(", ")}`);
    },
  );
  return { recoveredHostUuids: recovered.map((h) => h.uuid), pool: poolInfo(after) };
}
