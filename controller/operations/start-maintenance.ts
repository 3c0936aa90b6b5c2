/** StartMaintenance: disable the host, plan, hand the master role over, live-migrate every VM away. */
import { Cancelled, Refused } from "../engine/failures.js";
import type { OperationSpec, StepContext, StepSpec } from "../engine/step-spec.js";
import { disable, enable, enterMaintenance, evacuationEnded } from "../model/lifecycle.js";
import { nowIso } from "../model/records.js";
import { describeBlockers, placementTargets, planHostEvacuation, poolContacts, cpuVendorOf } from "../pool/evacuation-planning.js";
import { isRunningGuest } from "../pool/guests.js";
import { setEnabledInPool } from "../pool/host-enabled.js";
import { chooseMaster, masterCandidate } from "../pool/master-choice.js";
import { callOptions, hostRecord, readPool } from "../pool/pool-view.js";
import { runMigrations } from "../pool/vm-migrations.js";

type Step = StepSpec<"START_MAINTENANCE">;
type Ctx = StepContext<"START_MAINTENANCE">;

const hostName = (s: Pick<Ctx, "op">) => s.op.host!;

/** Sets the host's enabled flag in XenServer (through the pool) and in the record. */
async function setEnabled(s: Ctx, enabled: boolean): Promise<void> {
  const host = await hostRecord(s, hostName(s));
  await setEnabledInPool(s, host.aggregateId!, host, enabled);
  await s.ctx.store.transaction(async () => await s.ctx.store.hosts.apply(host.name, enabled ? enable() : disable(`maintenance (${s.op.id})`)));
}

const disableHost: Step = {
  name: "disable-host",
  mutating: true,
  async run(s) {
    await setEnabled(s, false);
    return { detail: `${hostName(s)} is disabled; no new VMs land on it` };
  },
};

const planStep: Step = {
  name: "plan-evacuation",
  mutating: false,
  async run(s) {
    const ev = await planHostEvacuation(s, hostName(s), s.op.params.maxParallel, false);
    s.op.evacuation = ev;
    if (ev.blockers.length > 0 && !s.op.params.allowPartial) {
      // Nothing moves: give the host back its enabled state before refusing.
      await setEnabled(s, true);
      throw new Refused(`${ev.blockers.length} of ${ev.vmsTotal} VM(s) cannot move, so nothing was moved: ${describeBlockers(ev)}`);
    }
    return { detail: `${ev.moves.length} VM(s) to move${ev.blockers.length ? `, ${ev.blockers.length} stay (partial evacuation allowed)` : ""}` };
  },
};

const handOverMaster: Step = {
  name: "hand-over-master",
  mutating: true,
  handsOverMaster: true,
  async run(s) {
    const host = await hostRecord(s, hostName(s));
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
    const chosenName = s.op.params.newMaster ?? chooseMaster(candidates, { fallbackToAnyLive: true });
    if (!chosenName) throw new Refused(`no other enabled, live member can take over as pool master from ${host.name}`);
    if (s.op.params.newMaster !== chosenName) {
      s.op.params.newMaster = chosenName;
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

const migrateVms: Step = {
  name: "migrate-vms",
  mutating: true,
  async run(s) {
    const host = await hostRecord(s, hostName(s));
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

const finishMaintenance: Step = {
  name: "finish-maintenance",
  mutating: false,
  async run(s) {
    const host = await hostRecord(s, hostName(s));
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
