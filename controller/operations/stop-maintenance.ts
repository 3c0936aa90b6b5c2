/** StopMaintenance: enable the host; with rebalance, move back the VMs that left it when they still run and fit. */
import { nowIso } from "../model/records.js";
import { evacuationRecordOf, planEvacuation } from "../pool/placement.js";
import { poolContacts } from "../pool/evacuation-planning.js";
import { callOptions, hostRecord, readPool } from "../pool/pool-view.js";
import { recordEvent } from "../store/record-event.js";
import { OperationCancelled, type OperationKindHandler, type StepContext, type StepResult } from "../engine/step-spec.js";
import { runMigrations } from "../pool/vm-migrations.js";

const hostName = (s: Pick<StepContext, "op">) => s.op.host!;

async function enableHost(s: StepContext): Promise<StepResult> {
  const host = hostRecord(s, hostName(s));
  const contact = hostRecord(s, poolContacts(s, host.aggregateId!)[0] ?? host.name);
  await s.agents.forHost(contact).setHostEnabled({ hostUuid: host.uuid ?? "", enabled: true }, callOptions(s));
  s.ctx.store.transaction(() => s.ctx.store.hosts.setEnabled(host.name, true));
  return { detail: `${host.name} is enabled` };
}

async function targetOf(s: StepContext) {
  const host = hostRecord(s, hostName(s));
  const { pool } = await readPool(s, poolContacts(s, host.aggregateId!));
  const member = pool.members.find((m) => m.uuid === host.uuid);
  return member ? [{ name: host.name, uuid: member.uuid, freeBytes: Number(member.memoryFreeBytes), cpuVendor: "" }] : [];
}

async function planReturn(s: StepContext): Promise<StepResult> {
  const host = hostRecord(s, hostName(s));
  const origins = s.ctx.store.vmOrigins.fromHost(host.name);
  const contact = hostRecord(s, poolContacts(s, host.aggregateId!)[0] ?? host.name);
  const { vms } = await s.agents.forHost(contact).listVms({}, callOptions(s));
  const byUuid = new Map(vms.map((v) => [v.uuid, v]));
  const candidates = origins
    .map((o) => ({ origin: o, vm: byUuid.get(o.vmUuid) }))
    .filter((c) => c.vm && c.vm.powerState === "Running" && c.vm.residentHostUuid !== host.uuid);
  const names = new Map(s.ctx.store.hosts.members(host.aggregateId!).map((h) => [h.uuid, h.name]));
  const plan = planEvacuation(
    candidates.map((c) => ({ uuid: c.vm!.uuid, name: c.vm!.name, memoryBytes: Number(c.vm!.memoryBytes), localStorage: c.vm!.localStorage })),
    await targetOf(s),
    "",
  );
  const ev = evacuationRecordOf(plan, {
    fromHost: (vmUuid) => names.get(byUuid.get(vmUuid)!.residentHostUuid) ?? byUuid.get(vmUuid)!.residentHostUuid,
    vmsTotal: plan.moves.length,
    maxParallel: Number(s.op.params.maxParallel ?? 2),
    validateOnly: false,
  });
  s.op.evacuation = ev;
  // VMs that no longer run (or are gone) are not coming back.
  s.ctx.store.transaction(() => {
    for (const o of origins) if (!candidates.some((c) => c.origin.vmUuid === o.vmUuid)) s.ctx.store.vmOrigins.forget(o.vmUuid);
  });
  return { detail: `${ev.moves.length} VM(s) to move back${ev.blockers.length ? `; ${ev.blockers.length} do not fit and stay where they are` : ""}` };
}

async function migrateBack(s: StepContext): Promise<StepResult> {
  const host = hostRecord(s, hostName(s));
  const ev = s.op.evacuation!;
  const outcome = await runMigrations(s, ev, { via: poolContacts(s, host.aggregateId!)[0] ?? host.name, targets: () => targetOf(s), sourceCpuVendor: "" });
  s.ctx.store.transaction(() => {
    for (const m of ev.moves.filter((m) => m.state === "DONE")) s.ctx.store.vmOrigins.forget(m.vmUuid);
  });
  const moved = ev.moves.filter((m) => m.state === "DONE").length;
  if (!outcome.completed) throw new OperationCancelled(`cancelled after moving ${moved} VM(s) back`);
  const failed = ev.moves.filter((m) => m.state === "FAILED");
  return { detail: `${moved} VM(s) moved back${failed.length ? `; ${failed.length} stayed where they were: ${failed.map((m) => m.vmName).join(", ")}` : ""}` };
}

async function finish(s: StepContext): Promise<StepResult> {
  s.ctx.store.transaction(() => s.ctx.store.hosts.setMaintenance(hostName(s), "NONE"));
  return { detail: `${hostName(s)} is out of maintenance` };
}

/** How StopMaintenance runs. */
export const stopMaintenanceHandler: OperationKindHandler = {
  plan(s) {
    return ["enable-host", ...(s.op.params.rebalance === true ? ["plan-return", "migrate-back"] : []), "finish-maintenance"];
  },
  mutating: new Set(["enable-host", "migrate-back"]),
  steps: { "enable-host": enableHost, "plan-return": planReturn, "migrate-back": migrateBack, "finish-maintenance": finish },
  failureBreaksPool: false,
  succeeded(s) {
    recordEvent(s.ctx, { kind: "host.maintenance-ended", aggregateId: s.op.aggregateId, host: s.op.host, operationId: s.op.id, message: `${s.op.host} left maintenance` });
  },
  ended(s) {
    const host = s.ctx.store.hosts.get(hostName(s));
    if (host && host.maintenance === "LEAVING") s.ctx.store.hosts.setMaintenance(host.name, host.enabled ? "NONE" : "IN_MAINTENANCE");
  },
};

export { nowIso };
