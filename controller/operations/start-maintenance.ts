/**
 * StartMaintenance: disable the host, plan, hand the master role over, live-migrate every VM away.
 * The steps are made for a subject (a host and its settings), so a rolling maintenance runs the
 * same steps for each of its hosts.
 */
import { Cancelled, Refused } from "../engine/failures.js";
import type { OperationSpec, StepContext, StepSpec } from "../engine/step-spec.js";
import { disable, enable, enterMaintenance, evacuationEnded } from "../model/lifecycle.js";
import { nowIso, type OperationOf, type StartMaintenanceParams } from "../model/records.js";
import { describeBlockers, placementTargets, planHostEvacuation, poolContacts, cpuVendorOf } from "../pool/evacuation-planning.js";
import { isRunningGuest } from "../pool/guests.js";
import { setEnabledInPool } from "../pool/host-enabled.js";
import { chooseMaster, masterCandidate } from "../pool/master-choice.js";
import { callOptions, hostRecord, readPool } from "../pool/pool-view.js";
import { runMigrations } from "../pool/vm-migrations.js";

/** The host the maintenance steps act on, and the settings they read and write. */
export interface MaintenanceSubject {
  host: string;
  /** StartMaintenance: the operation's params; a rolling maintenance: that host's. */
  settings: StartMaintenanceParams;
  /** Members to prefer as the new master (a rolling maintenance: hosts already done). */
  preferredMasters?: readonly string[];
}

/** The steps taking a host into maintenance, keyed by name (in the order they run). */
export type MaintenanceEntrySteps = Record<"disable-host" | "plan-evacuation" | "hand-over-master" | "migrate-vms" | "finish-maintenance", StepSpec>;

/** Sets the host's enabled flag in XenServer (through the pool) and in the record. */
async function setEnabled(s: StepContext, subject: MaintenanceSubject, enabled: boolean): Promise<void> {
  const host = await hostRecord(s, subject.host);
  await setEnabledInPool(s, host.aggregateId!, host, enabled);
  await s.ctx.store.transaction(async () => await s.ctx.store.hosts.apply(host.name, enabled ? enable() : disable(`maintenance (${s.op.id})`)));
}

/** The steps taking a subject host into maintenance (StartMaintenance, and each host of a rolling maintenance). */
export function maintenanceEntrySteps(subject: (s: StepContext) => MaintenanceSubject): MaintenanceEntrySteps {
  const disableHost: StepSpec = {
    name: "disable-host",
    mutating: true,
    async run(s) {
      await setEnabled(s, subject(s), false);
      return { detail: `${subject(s).host} is disabled; no new VMs land on it` };
    },
  };

  const planStep: StepSpec = {
    name: "plan-evacuation",
    mutating: false,
    async run(s) {
      const ev = await planHostEvacuation(s, subject(s).host, subject(s).settings.maxParallel, false);
      s.op.evacuation = ev;
      if (ev.blockers.length > 0 && !subject(s).settings.allowPartial) {
        // Nothing moves: give the host back its enabled state before refusing.
        await setEnabled(s, subject(s), true);
        throw new Refused(`${ev.blockers.length} of ${ev.vmsTotal} VM(s) cannot move, so nothing was moved: ${describeBlockers(ev)}`);
      }
      return { detail: `${ev.moves.length} VM(s) to move${ev.blockers.length ? `, ${ev.blockers.length} stay (partial evacuation allowed)` : ""}` };
    },
  };

  const handOverMaster: StepSpec = {
    name: "hand-over-master",
    mutating: true,
    handsOverMaster: true,
    async run(s) {
      const host = await hostRecord(s, subject(s).host);
      const aggregateId = host.aggregateId!;
      const { pool } = await readPool(s, await poolContacts(s, aggregateId));
      const members = await s.ctx.store.hosts.members(aggregateId);
      if (pool.masterUuid !== host.uuid) {
        // Already handed over (a retried or resumed step): make sure the record names the real master.
        const current = members.find((h) => h.uuid === pool.masterUuid);
        if (current) await s.ctx.store.transaction(async () => await s.ctx.store.aggregates.updatePool(aggregateId, { masterHost: current.name }, nowIso()));
        return { detail: `${host.name} is not the pool master (${current?.name ?? pool.masterUuid} is)`, skipped: true };
      }
      const candidates = members.filter((h) => h.name !== host.name && h.membership === "MEMBER" && h.maintenance === "NONE").map((h) => masterCandidate(h));
      const preferred = candidates.filter((c) => subject(s).preferredMasters?.includes(c.name));
      const chosenName = subject(s).settings.newMaster ?? chooseMaster(preferred, { fallbackToAnyLive: false }) ?? chooseMaster(candidates, { fallbackToAnyLive: true });
      if (!chosenName) throw new Refused(`no other enabled, live member can take over as pool master from ${host.name}`);
      if (subject(s).settings.newMaster !== chosenName) {
        subject(s).settings.newMaster = chosenName;
        await s.checkpoint(); // a resume must hand over to the same host
      }
      const next = await hostRecord(s, chosenName);
      await s.agents.forHost(host).designateNewMaster({ hostUuid: next.uuid! }, callOptions(s));
      await s.ctx.store.transaction(async () => {
        await s.ctx.store.aggregates.updatePool(aggregateId, { masterHost: next.name }, nowIso());
        await s.ctx.store.events.append({ kind: "pool.master-changed", aggregateId, host: next.name, operationId: s.op.id, message: `${next.name} took over as pool master from ${host.name} (maintenance)` });
      });
      return { detail: `${next.name} is the new pool master` };
    },
  };

  const migrateVms: StepSpec = {
    name: "migrate-vms",
    mutating: true,
    async run(s) {
      const host = await hostRecord(s, subject(s).host);
      const aggregateId = host.aggregateId!;
      const ev = s.op.evacuation!;
      const vendor = await cpuVendorOf(s, host);
      const outcome = await runMigrations(s, ev, {
        via: (await poolContacts(s, aggregateId)).find((n) => n !== host.name) ?? host.name,
        targets: () => placementTargets(s, aggregateId, host.name),
        sourceCpuVendor: vendor,
      });
      await s.ctx.store.transaction(async () => {
        for (const m of ev.moves.filter((m) => m.state === "DONE")) {
          await s.ctx.store.vmOrigins.record({ vmUuid: m.vmUuid, vmName: m.vmName, originHost: host.name, movedTo: m.toHost, operationId: s.op.id, movedAt: nowIso() });
        }
      });
      const moved = ev.moves.filter((m) => m.state === "DONE").length;
      if (!outcome.completed) throw new Cancelled(`cancelled after moving ${moved} of ${ev.vmsTotal} VM(s); running migrations finished`);
      const failed = ev.moves.filter((m) => m.state === "FAILED");
      if (failed.length > 0) {
        throw new Refused(`${failed.length} VM(s) stayed on ${host.name}: ${failed.map((m) => `${m.vmName} (${m.vmUuid}): ${m.error}`).join("; ")}`);
      }
      return { detail: `${moved} VM(s) moved` };
    },
  };

  const finishMaintenance: StepSpec = {
    name: "finish-maintenance",
    mutating: false,
    async run(s) {
      const host = await hostRecord(s, subject(s).host);
      const contact = await hostRecord(s, (await poolContacts(s, host.aggregateId!)).find((n) => n !== host.name) ?? host.name);
      const { vms } = await s.agents.forHost(contact).listVms({ hostUuid: host.uuid ?? "" }, callOptions(s));
      const left = vms.filter(isRunningGuest);
      const allowed = new Set(s.op.evacuation?.blockers.map((b) => b.vmUuid));
      const unexpected = left.filter((v) => !allowed.has(v.uuid));
      if (unexpected.length > 0) throw new Refused(`${host.name} still runs ${unexpected.map((v) => `${v.name} (${v.uuid})`).join(", ")}`);
      await s.ctx.store.transaction(async () => await s.ctx.store.hosts.apply(host.name, enterMaintenance()));
      return { detail: left.length ? `${host.name} is in maintenance; ${left.length} VM(s) could not move and still run there` : `${host.name} is in maintenance and empty` };
    },
  };

  return {
    "disable-host": disableHost,
    "plan-evacuation": planStep,
    "hand-over-master": handOverMaster,
    "migrate-vms": migrateVms,
    "finish-maintenance": finishMaintenance,
  };
}

const ownSteps = maintenanceEntrySteps((s) => ({ host: s.op.host!, settings: (s.op as OperationOf<"START_MAINTENANCE">).params }));
const { "disable-host": disableHost, "plan-evacuation": planStep, "hand-over-master": handOverMaster, "migrate-vms": migrateVms, "finish-maintenance": finishMaintenance } = ownSteps;
const hostName = (s: { op: { host: string | null } }) => s.op.host!;

/** How StartMaintenance runs. */
export const startMaintenanceSpec: OperationSpec<"START_MAINTENANCE"> = {
  kind: "START_MAINTENANCE",
  steps: [disableHost, planStep, handOverMaster, migrateVms, finishMaintenance],
  async plan(s) {
    const host = (await s.ctx.store.hosts.get(hostName(s)))!;
    const master = (await s.ctx.store.aggregates.get(host.aggregateId!))!.masterHost === host.name;
    return [disableHost, planStep, ...(master ? [handOverMaster] : []), migrateVms, finishMaintenance];
  },
  failureBreaksPool: false,
  async succeeded(s) {
    await s.ctx.store.events.append({ kind: "host.maintenance", aggregateId: s.op.aggregateId, host: s.op.host, operationId: s.op.id, message: `${s.op.host} is in maintenance` });
  },
  async ended(s, outcome) {
    const host = await s.ctx.store.hosts.get(hostName(s));
    if (host) await s.ctx.store.hosts.apply(host.name, evacuationEnded(host, outcome.message));
  },
};
