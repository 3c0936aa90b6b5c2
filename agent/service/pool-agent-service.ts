/** PoolAgentService: every RPC of pool_agent.proto over the agent's XenAPI client. */
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { PoolAgentService } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import type { AgentContext } from "./agent-context.js";
import type { PoolInfoInit } from "./convert.js";
import { designateNewMaster } from "./designate-new-master.js";
import { destroyHost } from "./destroy-host.js";
import { ejectHost } from "./eject-host.js";
import { emergencyResetMaster, emergencyTransitionToMaster, recoverSlaves } from "./emergency.js";
import { guarded, guardedStream } from "./error-mapping.js";
import { joinPool } from "./join-pool.js";
import { migrateVm } from "./migrate-vm.js";
import { ownHostInfo } from "./own-host.js";
import { checkPoolName, setPoolName } from "./pool-name.js";
import { getPoolInfo, listVms } from "./read-calls.js";
import { rebootHost } from "./reboot-host.js";
import { noHooks, runHook } from "./run-hook.js";
import { setHostEnabled } from "./set-host-enabled.js";
import { SingleFlight } from "./single-flight.js";

/** The handlers of PoolAgentService. */
export function poolAgentService(ctx: AgentContext): ServiceImpl<typeof PoolAgentService> {
  const log = ctx.log;
  const unary = <I, O>(name: string, handler: Parameters<typeof guarded<I, O>>[3]) => guarded(name, ctx.credentials, log, handler);
  // Every pool-changing call names the controller replica it came from (x-aggregates-replica), so the logs show who acted.
  const accepted = (name: string, c: HandlerContext) => log.info("accepted a change", { call: name, replica: c.requestHeader.get("x-aggregates-replica") ?? "none" });
  const changing = <I, O>(name: string, handler: Parameters<typeof guarded<I, O>>[3]) =>
    unary<I, O>(name, (req, c) => {
      accepted(name, c);
      return handler(req, c);
    });
  // Pool-changing calls that restart toolstacks must not overlap with a retry of themselves.
  const exclusive = new SingleFlight<PoolInfoInit>();
  // A retried RunHook joins the run in progress instead of starting the hook twice.
  const hooks = new SingleFlight<Awaited<ReturnType<typeof runHook>>>();
  return {
    getHostInfo: unary("GetHostInfo", (req: { includeVms: boolean }, c) => ownHostInfo(ctx, req.includeVms, { signal: c.signal })),
    getPoolInfo: unary("GetPoolInfo", (_req, c) => getPoolInfo(ctx, c.signal)),
    initPool: changing("InitPool", (req: { name: string }, c) => setPoolName(ctx, checkPoolName(req.name), c.signal)),
    clearPool: changing("ClearPool", (_req, c) => setPoolName(ctx, "", c.signal)),
    joinPool: changing("JoinPool", (req: { masterAddress: string; force: boolean }, c) =>
      exclusive.run(`join ${req.masterAddress.trim()} ${req.force}`, () => joinPool(ctx, req.masterAddress, req.force, c.signal)),
    ),
    ejectHost: changing("EjectHost", (req: { hostUuid: string }, c) =>
      exclusive.run(`eject ${req.hostUuid.trim()}`, () => ejectHost(ctx, req.hostUuid, c.signal)),
    ),
    destroyHost: changing("DestroyHost", (req: { hostUuid: string }, c) =>
      exclusive.run(`destroy ${req.hostUuid.trim()}`, () => destroyHost(ctx, req.hostUuid, c.signal)),
    ),
    designateNewMaster: changing("DesignateNewMaster", (req: { hostUuid: string }, c) =>
      exclusive.run(`designate ${req.hostUuid.trim()}`, () => designateNewMaster(ctx, req.hostUuid, c.signal)),
    ),
    emergencyTransitionToMaster: changing("EmergencyTransitionToMaster", (_req, c) => emergencyTransitionToMaster(ctx, c.signal)),
    recoverSlaves: changing("RecoverSlaves", (_req, c) => recoverSlaves(ctx, c.signal)),
    emergencyResetMaster: changing("EmergencyResetMaster", (req: { masterAddress: string }, c) => emergencyResetMaster(ctx, req.masterAddress, c.signal)),
    setHostEnabled: changing("SetHostEnabled", (req: { hostUuid: string; enabled: boolean }, c) => setHostEnabled(ctx, req.hostUuid, req.enabled, c.signal)),
    listVms: unary("ListVms", async (req: { hostUuid: string; includeSystem: boolean }, c) => ({
      vms: await listVms(ctx, req.hostUuid.trim(), req.includeSystem, c.signal),
    })),
    rebootHost: changing("RebootHost", (req: { hostUuid: string }, c) => rebootHost(ctx, req.hostUuid, c.signal)),
    runHook: changing("RunHook", (req: { name: string }, c) =>
      hooks.run(req.name, () => {
        ctx.log.info("running hook", { hook: req.name });
        return runHook(ctx.hooks ?? noHooks, req.name, ctx.hostName, c.signal);
      }),
    ),
    migrateVm: guardedStream("MigrateVm", ctx.credentials, log, (req: { vmUuid: string; targetHostUuid: string }, c) => {
      accepted("MigrateVm", c);
      return migrateVm(ctx, req.vmUuid, req.targetHostUuid, c.signal);
    }),
  };
}
