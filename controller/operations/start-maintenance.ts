/** StartMaintenance: disable the host, plan, hand the master role over, live-migrate every VM away. */
import { nowIso } from "../model/records.js";
import { StepFailure } from "../engine/failures.js";
import { describeBlockers, placementTargets, planHostEvacuation, poolContacts, cpuVendorOf } from "../pool/evacuation-planning.js";
import { callOptions, hostRecord, readPool } from "../pool/pool-view.js";
import { recordEvent } from "../store/record-event.js";
import { chooseNewMaster } from "./remove-host.js";
import { OperationCancelled, type OperationKindHandler, type StepContext, type StepResult } from "../engine/step-spec.js";
import { runMigrations } from "../pool/vm-migrations.js";

const hostName = (s: Pick<StepContext, "op">) => s.op.host!;

async function disableHost(s: StepContext): Promise<StepResult> {
  const host = hostRecord(s, hostName(s));
  const contact = hostRecord(s, poolContacts(s, host.aggregateId!)[0] ?? host.name);
  await s.agents.forHost(contact).setHostEnabled({ hostUuid: host.uuid ?? "", enabled: false }, callOptions(s));
  s.ctx.store.transaction(() => s.ctx.store.hosts.setEnabled(host.name, false, `maintenance (${s.op.id})`));
  return { detail: `${host.name} is disabled; no new VMs land on it` };
}

async function planStep(s: StepContext): Promise<StepResult> {
  const ev = await planHostEvacuation(s, hostName(s), Number(s.op.params.maxParallel ?? 2), false);
  s.op.evacuation = ev;
  if (ev.blockers.length > 0 && s.op.params.allowPartial !== true) {
    // Nothing moves: give the host back its enabled state before failing.
    const host = hostRecord(s, hostName(s));
    const contact = hostRecord(s, poolContacts(s, host.aggregateId!)[0] ?? host.name);
    await s.agents.forHost(contact).setHostEnabled({ hostUuid: host.uuid ?? "", enabled: true }, callOptions(s));
    s.ctx.store.transaction(() => s.ctx.store.hosts.setEnabled(host.name, true));
    throw new StepFailure(`${ev.blockers.length} of ${ev.vmsTotal} VM(s) cannot move, so nothing was moved: ${describeBlockers(ev)}`);
  }
  return { detail: `${ev.moves.length} VM(s) to move${ev.blockers.length ? `, ${ev.blockers.length} stay (partial evacuation allowed)` : ""}` };
}

async function handOverMaster(s: StepContext): Promise<StepResult> {
  const host = hostRecord(s, hostName(s));
  const aggregateId = host.aggregateId!;
  const { pool } = await readPool(s, poolContacts(s, aggregateId));
  if (pool.masterUuid !== host.uuid) {
    // Already handed over (a retried or resumed step): make sure the record names the real master.
    const current = s.ctx.store.hosts.members(aggregateId).find((h) => h.uuid === pool.masterUuid);
    if (current) s.ctx.store.transaction(() => s.ctx.store.aggregates.updatePool(aggregateId, { masterHost: current.name }, nowIso()));
    return { detail: `${host.name} is not the pool master (${current?.name ?? pool.masterUuid} is)`, skipped: true };
  }
  const candidates = s.ctx.store.hosts.members(aggregateId).filter((h) => h.name !== host.name && h.membership === "MEMBER" && h.maintenance === "NONE");
  const chosenName = (s.op.params.newMaster as string | undefined) ?? chooseNewMaster(candidates)?.name;
  if (!chosenName) throw new StepFailure(`no other enabled, live member can take over as pool master from ${host.name}`);
  if (s.op.params.newMaster !== chosenName) {
    s.op.params.newMaster = chosenName;
    s.checkpoint(); // a resume must hand over to the same host
  }
  const next = hostRecord(s, chosenName);
  await s.agents.forHost(host).designateNewMaster({ hostUuid: next.uuid! }, callOptions(s));
  s.ctx.store.transaction(() => s.ctx.store.aggregates.updatePool(aggregateId, { masterHost: next.name }, nowIso()));
  recordEvent(s.ctx, { kind: "pool.master-changed", aggregateId, host: next.name, operationId: s.op.id, message: `${next.name} took over as pool master from ${host.name} (maintenance)` });
  return { detail: `${next.name} is the new pool master` };
}

async function migrateVms(s: StepContext): Promise<StepResult> {
  const host = hostRecord(s, hostName(s));
  const aggregateId = host.aggregateId!;
  const ev = s.op.evacuation!;
  const vendor = await cpuVendorOf(s, host);
  const outcome = await runMigrations(s, ev, {
    via: poolContacts(s, aggregateId).find((n) => n !== host.name) ?? host.name,
    targets: () => placementTargets(s, aggregateId, host.name),
    sourceCpuVendor: vendor,
  });
  s.ctx.store.transaction(() => {
    for (const m of ev.moves.filter((m) => m.state === "DONE")) {
      s.ctx.store.vmOrigins.record({ vmUuid: m.vmUuid, vmName: m.vmName, originHost: host.name, movedTo: m.toHost, operationId: s.op.id, movedAt: nowIso() });
    }
  });
  const moved = ev.moves.filter((m) => m.state === "DONE").length;
  if (!outcome.completed) throw new OperationCancelled(`cancelled after moving ${moved} of ${ev.vmsTotal} VM(s); running migrations finished`);
  const failed = ev.moves.filter((m) => m.state === "FAILED");
  if (failed.length > 0) {
    throw new StepFailure(`${failed.length} VM(s) stayed on ${host.name}: ${failed.map((m) => `${m.vmName} (${m.vmUuid}): ${m.error}`).join("; ")}`);
  }
  return { detail: `${moved} VM(s) moved` };
}

async function finish(s: StepContext): Promise<StepResult> {
  const host = hostRecord(s, hostName(s));
  const contact = hostRecord(s, poolContacts(s, host.aggregateId!).find((n) => n !== host.name) ?? host.name);
  const { vms } = await s.agents.forHost(contact).listVms({ hostUuid: host.uuid ?? "" }, callOptions(s));
  const left = vms.filter((v) => v.powerState === "Running" && !v.isControlDomain && !v.isTemplate);
  const allowed = new Set(s.op.evacuation?.blockers.map((b) => b.vmUuid));
  const unexpected = left.filter((v) => !allowed.has(v.uuid));
  if (unexpected.length > 0) throw new StepFailure(`${host.name} still runs ${unexpected.map((v) => `${v.name} (${v.uuid})`).join(", ")}`);
  s.ctx.store.transaction(() => s.ctx.store.hosts.setMaintenance(host.name, "IN_MAINTENANCE"));
  return { detail: left.length ? `${host.name} is in maintenance; ${left.length} VM(s) could not move and still run there` : `${host.name} is in maintenance and empty` };
}

/** How StartMaintenance runs. */
export const startMaintenanceHandler: OperationKindHandler = {
  plan(s) {
    const host = s.ctx.store.hosts.get(hostName(s))!;
    const aggregate = s.ctx.store.aggregates.get(host.aggregateId!)!;
    const master = aggregate.masterHost === host.name;
    return ["disable-host", "plan-evacuation", ...(master ? ["hand-over-master"] : []), "migrate-vms", "finish-maintenance"];
  },
  mutating: new Set(["disable-host", "hand-over-master", "migrate-vms"]),
  steps: { "disable-host": disableHost, "plan-evacuation": planStep, "hand-over-master": handOverMaster, "migrate-vms": migrateVms, "finish-maintenance": finish },
  failureBreaksPool: false,
  succeeded(s) {
    recordEvent(s.ctx, { kind: "host.maintenance", aggregateId: s.op.aggregateId, host: s.op.host, operationId: s.op.id, message: `${s.op.host} is in maintenance` });
  },
  ended(s, outcome) {
    const store = s.ctx.store;
    const host = store.hosts.get(hostName(s));
    if (!host) return;
    store.hosts.setMaintenance(host.name, "NONE");
    if (!host.enabled) {
      store.hosts.setEnabled(host.name, false, `maintenance did not complete (${outcome.message}); the host stays disabled until "aggctl host-maintenance-stop ${host.name}"`);
    }
  },
};
