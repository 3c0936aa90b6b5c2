/**
 * StopMaintenance: enable the host; with rebalance, move back the VMs that left it when they still
 * run and fit. Enabling and finishing are made for any host, so a rolling maintenance reuses them.
 */
import { Cancelled } from "../engine/failures.js";
import type { OperationSpec, StepContext, StepSpec } from "../engine/step-spec.js";
import { enable, leaveMaintenance, leaveMaintenanceEnded } from "../model/lifecycle.js";
import { evacuationRecordOf, planEvacuation } from "../pool/placement.js";
import { poolContacts } from "../pool/evacuation-planning.js";
import { setEnabledInPool } from "../pool/host-enabled.js";
import { callOptions, hostRecord, readPool } from "../pool/pool-view.js";
import { runMigrations } from "../pool/vm-migrations.js";

type Step = StepSpec<"STOP_MAINTENANCE">;
type Ctx = StepContext<"STOP_MAINTENANCE">;

const hostName = (s: Pick<Ctx, "op">) => s.op.host!;
const contactOf = async (s: Ctx) => {
  const host = await hostRecord(s, hostName(s));
  return await hostRecord(s, (await poolContacts(s, host.aggregateId!))[0] ?? host.name);
};

/** The host itself as the only placement target of the return. */
async function targetOf(s: Ctx) {
  const host = await hostRecord(s, hostName(s));
  const { pool } = await readPool(s, await poolContacts(s, host.aggregateId!));
  const member = pool.members.find((m) => m.uuid === host.uuid);
  return member ? [{ name: host.name, uuid: member.uuid, freeBytes: Number(member.memoryFreeBytes), cpuVendor: "" }] : [];
}

const planReturn: Step = {
  name: "plan-return",
  mutating: false,
  async run(s) {
    const host = await hostRecord(s, hostName(s));
    const origins = await s.ctx.store.vmOrigins.fromHost(host.name);
    const { vms } = await s.agents.forHost(await contactOf(s)).listVms({}, callOptions(s));
    const byUuid = new Map(vms.map((v) => [v.uuid, v]));
    const candidates = origins.map((o) => ({ origin: o, vm: byUuid.get(o.vmUuid) })).filter((c) => c.vm && c.vm.powerState === "Running" && c.vm.residentHostUuid !== host.uuid);
    const names = new Map((await s.ctx.store.hosts.members(host.aggregateId!)).map((h) => [h.uuid, h.name]));
    const plan = planEvacuation(
      candidates.map((c) => ({ uuid: c.vm!.uuid, name: c.vm!.name, memoryBytes: Number(c.vm!.memoryBytes), localStorage: c.vm!.localStorage })),
      await targetOf(s),
      "",
    );
    const ev = evacuationRecordOf(plan, {
      fromHost: (vmUuid) => names.get(byUuid.get(vmUuid)!.residentHostUuid) ?? byUuid.get(vmUuid)!.residentHostUuid,
      vmsTotal: plan.moves.length,
      maxParallel: s.op.params.maxParallel,
      validateOnly: false,
    });
    s.op.evacuation = ev;
    // VMs that no longer run (or are gone) are not coming back.
    await s.ctx.store.transaction(async () => {
      for (const o of origins) if (!candidates.some((c) => c.origin.vmUuid === o.vmUuid)) await s.ctx.store.vmOrigins.forget(o.vmUuid);
    });
    return { detail: `${ev.moves.length} VM(s) to move back${ev.blockers.length ? `; ${ev.blockers.length} do not fit and stay where they are` : ""}` };
  },
};

const migrateBack: Step = {
  name: "migrate-back",
  mutating: true,
  async run(s) {
    const host = await hostRecord(s, hostName(s));
    const ev = s.op.evacuation!;
    const outcome = await runMigrations(s, ev, { via: (await poolContacts(s, host.aggregateId!))[0] ?? host.name, targets: () => targetOf(s), sourceCpuVendor: "" });
    await s.ctx.store.transaction(async () => {
      for (const m of ev.moves.filter((m) => m.state === "DONE")) await s.ctx.store.vmOrigins.forget(m.vmUuid);
    });
    const moved = ev.moves.filter((m) => m.state === "DONE").length;
    if (!outcome.completed) throw new Cancelled(`cancelled after moving ${moved} VM(s) back`);
    const failed = ev.moves.filter((m) => m.state === "FAILED");
    return { detail: `${moved} VM(s) moved back${failed.length ? `; ${failed.length} stayed where they were: ${failed.map((m) => m.vmName).join(", ")}` : ""}` };
  },
};

/** The steps giving a subject host back to service (StopMaintenance, and each host of a rolling maintenance). */
export function maintenanceExitSteps(hostOf: (s: StepContext) => string): { "enable-host": StepSpec; "finish-maintenance": StepSpec } {
  return {
    "enable-host": {
      name: "enable-host",
      mutating: true,
      async run(s) {
        const host = await hostRecord(s, hostOf(s));
        await setEnabledInPool(s, host.aggregateId!, host, true);
        await s.ctx.store.transaction(async () => await s.ctx.store.hosts.apply(host.name, enable()));
        return { detail: `${host.name} is enabled` };
      },
    },
    "finish-maintenance": {
      name: "finish-maintenance",
      mutating: false,
      async run(s) {
        await s.ctx.store.transaction(async () => await s.ctx.store.hosts.apply(hostOf(s), leaveMaintenance()));
        return { detail: `${hostOf(s)} is out of maintenance` };
      },
    },
  };
}

const { "enable-host": enableHost, "finish-maintenance": finishMaintenance } = maintenanceExitSteps((s) => s.op.host!);

/** How StopMaintenance runs. */
export const stopMaintenanceSpec: OperationSpec<"STOP_MAINTENANCE"> = {
  kind: "STOP_MAINTENANCE",
  steps: [enableHost, planReturn, migrateBack, finishMaintenance],
  async plan(s) {
    return [enableHost, ...(s.op.params.rebalance ? [planReturn, migrateBack] : []), finishMaintenance];
  },
  failureBreaksPool: false,
  async succeeded(s) {
    await s.ctx.store.events.append({ kind: "host.maintenance-ended", aggregateId: s.op.aggregateId, host: s.op.host, operationId: s.op.id, message: `${s.op.host} left maintenance` });
  },
  async ended(s) {
    const host = await s.ctx.store.hosts.get(hostName(s));
    const change = host && leaveMaintenanceEnded(host);
    if (host && change) await s.ctx.store.hosts.apply(host.name, change);
  },
};
