/**
 * StartRollingMaintenance: validate; pre-check the whole run on the real pool (every member live
 * and enabled, no other operation, blockers and headroom of every turn — pool/rolling-plan.ts) and
 * estimate it; a dry run answers the plan as an unsaved operation; otherwise one transaction
 * records the intent, then the engine runs it. A turn that cannot be made refuses the whole run.
 */
import { failedPrecondition, invalidArgument, notFound, type FieldViolation } from "../../shared/errors.js";
import { hookNamePattern } from "../../shared/hook-name.js";
import type { IntakeContext } from "../context.js";
import { refusalWhileError } from "../model/lifecycle.js";
import { nowIso, type OperationOf, type OperationRecord, type RollingActionName, type RollingMaintenanceParams } from "../model/records.js";
import { checkHostName, checkId, violations } from "../model/validation.js";
import { isRunningGuest } from "../pool/guests.js";
import { callOptions, readPool } from "../pool/pool-view.js";
import { defaultBandwidthBytesPerSecond, describeImpossibleSteps, estimateMs, observedBandwidth, planRolling } from "../pool/rolling-plan.js";
import { recordOperation } from "./accept-operation.js";
import { assertValid, requireAggregate } from "./lookups.js";
import { effectiveMaxParallel } from "./maintenance-checks.js";

/** What StartRollingMaintenance asks for. */
export interface StartRollingMaintenanceRequest {
  aggregateId: bigint;
  /** Undefined when the request named none (refused). */
  action: RollingActionName | undefined;
  hook: string;
  hosts: string[];
  maxParallel: number;
  validateOnly: boolean;
  skipReturn: boolean;
}

/** Most hosts one rolling maintenance may name (a XenServer pool holds at most 64). */
const maxRollingHosts = 1000;

function validate(req: StartRollingMaintenanceRequest): void {
  if (req.hosts.length > maxRollingHosts) {
    throw invalidArgument([{ field: "hosts", description: `at most ${maxRollingHosts} hosts (got ${req.hosts.length})` }]);
  }
  const found: FieldViolation[] = violations(checkId(req.aggregateId, "aggregate_id"), ...req.hosts.map((h, i) => checkHostName(h, `hosts[${i}]`)));
  if (!req.action) found.push({ field: "action", description: "action is required: ROLLING_ACTION_REBOOT, ROLLING_ACTION_PAUSE or ROLLING_ACTION_HOOK" });
  if (req.action === "HOOK" && !hookNamePattern.test(req.hook)) found.push({ field: "hook", description: `hook must name a hook configured on the agents (${hookNamePattern.source})` });
  if (req.action !== "HOOK" && req.hook !== "") found.push({ field: "hook", description: "hook is only for ROLLING_ACTION_HOOK" });
  const seen = new Set<string>();
  const dup = req.hosts.find((h) => seen.size === seen.add(h).size);
  if (dup) found.push({ field: "hosts", description: `host "${dup}" is listed twice` });
  assertValid(found);
}

/** The pre-check and the plan: the operation's params, or FAILED_PRECONDITION naming what is wrong. */
async function preCheck(ctx: IntakeContext, aggregateId: number, req: StartRollingMaintenanceRequest): Promise<{ params: RollingMaintenanceParams; impossible?: string }> {
  const { store } = ctx;
  const aggregate = await requireAggregate(store, aggregateId);
  const refusal = refusalWhileError(aggregate, "ROLLING_MAINTENANCE");
  if (refusal) throw failedPrecondition(refusal);
  const busy = (await store.operations.unfinished(aggregateId))[0];
  if (busy) throw failedPrecondition(`operation ${busy.id} (${busy.kind} ${busy.host ?? ""}) is still running on aggregate ${aggregateId}; wait for it or cancel it`);
  const members = (await store.hosts.members(aggregateId)).filter((h) => h.membership !== null);
  if (members.length === 0) throw failedPrecondition(`aggregate ${aggregateId} has no hosts`);
  const notReady = members.filter((h) => h.membership !== "MEMBER" || h.liveness !== "ALIVE" || !h.enabled || h.maintenance !== "NONE");
  if (notReady.length > 0) {
    throw failedPrecondition(
      `every member must be live, enabled and out of maintenance: ${notReady.map((h) => `${h.name} (${h.membership}, ${h.liveness}${h.enabled ? "" : ", disabled"}${h.maintenance !== "NONE" ? `, maintenance ${h.maintenance}` : ""})`).join(", ")}`,
    );
  }
  for (const name of req.hosts) {
    if (!(await store.hosts.get(name))) throw notFound(`host "${name}" is not registered`);
    if (!members.some((m) => m.name === name)) throw failedPrecondition(`host "${name}" is not a member of aggregate ${aggregateId}`);
  }
  const master = aggregate.masterHost;
  // The master last: it hands the role to a host already done, so the role moves once.
  const order = req.hosts.length > 0 ? req.hosts : [...members.map((m) => m.name).filter((n) => n !== master).sort(), ...(master ? [master] : [])];
  if (members.length < 2 && order.length > 0) throw failedPrecondition(`aggregate ${aggregateId} has one host: nothing can take its VMs or the master role while it is out`);

  const reader = { ctx, agents: ctx.agents, signal: ctx.engine.shutdown, remainingMs: () => 30_000 };
  const contacts = [master, ...members.map((m) => m.name)].filter((n, i, all): n is string => !!n && all.indexOf(n) === i);
  const { pool, via } = await readPool(reader, contacts);
  const viaHost = members.find((m) => m.name === via)!;
  const byUuid = new Map(members.map((m) => [m.uuid, m]));
  const offline = members.filter((m) => {
    const pm = pool.members.find((x) => x.uuid === m.uuid);
    return !pm || !pm.live || !pm.enabled;
  });
  if (offline.length > 0) throw failedPrecondition(`XenServer does not list every member as live and enabled: ${offline.map((m) => m.name).join(", ")}`);
  const { vms } = await ctx.agents.forHost(viaHost).listVms({}, callOptions(reader, 30_000));
  const blockersByVm = new Map<string, string[]>();
  // Each host's own blockers (local storage, immobile, …) as XenServer reports them.
  await Promise.all(
    members.map(async (m) => {
      const { vms: own } = await ctx.agents.forHost(viaHost).listVms({ hostUuid: m.uuid ?? "" }, callOptions(reader, 30_000));
      for (const v of own) if (v.evacuationBlocker.length > 0) blockersByVm.set(v.uuid, v.evacuationBlocker);
    }),
  );
  const guests = vms
    .filter(isRunningGuest)
    .filter((v) => byUuid.has(v.residentHostUuid))
    .map((v) => ({ uuid: v.uuid, name: v.name, memoryBytes: Number(v.memoryBytes), localStorage: v.localStorage, blocker: blockersByVm.get(v.uuid), host: byUuid.get(v.residentHostUuid)!.name }));
  const maxParallel = await effectiveMaxParallel(ctx, aggregateId, req.maxParallel);
  const hosts = members.map((m) => {
    const pm = pool.members.find((x) => x.uuid === m.uuid)!;
    return { name: m.name, uuid: m.uuid!, freeBytes: Number(pm.memoryFreeBytes), cpuVendor: pm.cpuVendor, available: true };
  });
  const plan = planRolling(order, hosts, guests, maxParallel);
  const recent = await store.operations.list({ aggregateId, state: "SUCCEEDED", beforeSeq: Number.MAX_SAFE_INTEGER, limit: 20 });
  const bandwidth = observedBandwidth(recent) ?? defaultBandwidthBytesPerSecond;
  const params: RollingMaintenanceParams = {
    action: req.action!,
    hook: req.hook,
    maxParallel,
    skipReturn: req.skipReturn,
    hosts: plan.steps.map((st) => ({
      name: st.host,
      state: "PENDING",
      master: st.host === master,
      plannedMoves: st.evacuation.moves,
      blockers: st.evacuation.blockers,
      vmsMoved: 0,
      maintenance: { maxParallel, allowPartial: false },
    })),
    homes: Object.fromEntries(guests.map((g) => [g.uuid, { host: g.host, vmName: g.name }])),
    estimatedMs: estimateMs(plan, bandwidth, req.skipReturn),
    estimateBandwidthBytesPerSecond: Math.round(bandwidth),
    vmsMoved: 0,
    vmsReturned: 0,
    unreturned: [],
  };
  return { params, impossible: describeImpossibleSteps(plan) };
}

/** A dry run: the pre-check's plan as an unsaved operation (FAILED with the list when a turn cannot be made). */
function dryRun(aggregateId: number, params: RollingMaintenanceParams, impossible: string | undefined): OperationOf<"ROLLING_MAINTENANCE"> {
  const now = nowIso();
  return {
    seq: 0,
    id: "",
    kind: "ROLLING_MAINTENANCE",
    aggregateId,
    host: null,
    state: impossible ? "FAILED" : "SUCCEEDED",
    progress: 0,
    steps: [],
    params,
    error: impossible ? { code: "FAILED_PRECONDITION", message: `the pool cannot lose these hosts in turn, so nothing would move: ${impossible}` } : null,
    evacuation: null,
    cancelRequested: false,
    createdAt: now,
    updatedAt: now,
    finishedAt: now,
  };
}

/** Accepts StartRollingMaintenance (or answers a dry run with the plan). */
export async function startRollingMaintenance(ctx: IntakeContext, req: StartRollingMaintenanceRequest): Promise<OperationRecord> {
  validate(req);
  const aggregateId = Number(req.aggregateId);
  const { params, impossible } = await preCheck(ctx, aggregateId, req);
  if (req.validateOnly) return dryRun(aggregateId, params, impossible);
  if (impossible) throw failedPrecondition(`the pool cannot lose these hosts in turn, so nothing was changed: ${impossible}`);
  const op = await ctx.store.transaction(async () => {
    const busy = (await ctx.store.operations.unfinished(aggregateId))[0];
    if (busy) throw failedPrecondition(`operation ${busy.id} (${busy.kind} ${busy.host ?? ""}) is still running on aggregate ${aggregateId}; wait for it or cancel it`);
    return await recordOperation(ctx, "ROLLING_MAINTENANCE", aggregateId, null, params);
  });
  ctx.engine.schedule(op);
  return op;
}
