/**
 * The end of a rolling maintenance: every VM goes back to the host it ran on when the run started,
 * in passes (swap-aware, pool/return-plan.ts) while a pass makes progress. A VM that cannot go home
 * is reported on the operation; the run still succeeds.
 */
import { Cancelled } from "../engine/failures.js";
import type { StepSpec } from "../engine/step-spec.js";
import type { EvacuationRecord, UnreturnedVmRecord } from "../model/records.js";
import { poolContacts } from "../pool/evacuation-planning.js";
import { isRunningGuest } from "../pool/guests.js";
import { callOptions, hostRecord, readPool } from "../pool/pool-view.js";
import { planReturnPass, type ReturnHost, type ReturnVm } from "../pool/return-plan.js";
import { runMigrations } from "../pool/vm-migrations.js";
import { refreshTotals, rollingParams } from "./rolling-host.js";

/** Passes before giving up even when each one moved something (a safety bound; each pass normally settles many VMs). */
const maxPasses = 12;
/** Failed attempts before a VM is given up on. */
const maxFailuresPerVm = 2;

/** The step that sends the VMs home. */
export const returnVmsStep: StepSpec = {
  name: "return-vms",
  mutating: true,
  async run(s) {
    const p = rollingParams(s);
    if (await s.cancelRequested()) throw new Cancelled(`cancelled after every host was back in service; the VMs were not moved back`);
    const aggregateId = s.op.aggregateId!;
    const failures = new Map<string, { count: number; error: string }>();
    const givenUp = new Set<string>();
    let lastState: { vms: ReturnVm[]; hosts: ReturnHost[] } = { vms: [], hosts: [] };

    const readState = async () => {
      const contacts = await poolContacts(s, aggregateId);
      const { pool, via } = await readPool(s, contacts);
      const members = await s.ctx.store.hosts.members(aggregateId);
      const nameOf = new Map(members.map((h) => [h.uuid, h.name]));
      const usable = new Set(members.filter((h) => h.membership === "MEMBER" && h.enabled && h.maintenance === "NONE").map((h) => h.name));
      const hosts = pool.members.filter((m) => m.enabled && m.live && usable.has(nameOf.get(m.uuid) ?? "")).map((m) => ({ name: nameOf.get(m.uuid)!, uuid: m.uuid, freeBytes: Number(m.memoryFreeBytes) }));
      const { vms } = await s.agents.forHost(await hostRecord(s, via)).listVms({}, callOptions(s, 30_000));
      const guests = vms
        .filter(isRunningGuest)
        .map((v) => ({ uuid: v.uuid, name: v.name, memoryBytes: Number(v.memoryBytes), host: nameOf.get(v.residentHostUuid) ?? v.residentHostUuid, home: p.homes[v.uuid]?.host }));
      return { vms: guests, hosts, via };
    };

    const countReturned = (vms: ReturnVm[]) => {
      const away = new Set(p.returnAway);
      p.vmsReturned = vms.filter((v) => away.has(v.uuid) && v.home === v.host).length;
    };
    for (let pass = 1; pass <= maxPasses; pass++) {
      const state = await readState();
      lastState = state;
      if (!p.returnAway) {
        // Recorded once, so a resumed return counts what it brought home since it began.
        p.returnAway = state.vms.filter((v) => v.home !== undefined && v.home !== v.host).map((v) => v.uuid);
        await s.checkpoint();
      }
      const moves = planReturnPass(state.vms, state.hosts, givenUp);
      if (moves.length === 0) break;
      const ev: EvacuationRecord = {
        moves: moves.map((m) => ({ vmUuid: m.vm.uuid, vmName: m.vm.name, fromHost: m.vm.host, toHost: m.to.name, toHostUuid: m.to.uuid, memoryBytes: m.vm.memoryBytes, state: "PLANNED", progress: 0, attempts: 0 })),
        blockers: [],
        vmsTotal: moves.length,
        vmsMoved: 0,
        maxParallel: p.maxParallel,
        validateOnly: false,
      };
      s.op.evacuation = ev;
      await s.checkpoint();
      // A refused move is not re-planned elsewhere: the VM's place is its home (or the room-making target).
      const outcome = await runMigrations(s, ev, { via: state.via, targets: async () => [], sourceCpuVendor: "" });
      const done = ev.moves.filter((m) => m.state === "DONE");
      for (const m of ev.moves.filter((x) => x.state === "FAILED")) {
        const f = { count: (failures.get(m.vmUuid)?.count ?? 0) + 1, error: m.error ?? "migration failed" };
        failures.set(m.vmUuid, f);
        if (f.count >= maxFailuresPerVm) givenUp.add(m.vmUuid);
      }
      p.returnMigrations = (p.returnMigrations ?? 0) + done.length;
      countReturned(state.vms.map((v) => ({ ...v, host: done.find((m) => m.vmUuid === v.uuid)?.toHost ?? v.host })));
      refreshTotals(p);
      await s.checkpoint();
      if (!outcome.completed) throw new Cancelled(`cancelled during the return with ${p.vmsReturned} VM(s) back home`);
    }

    const final = await readState().catch(() => lastState);
    const unreturned: UnreturnedVmRecord[] = final.vms
      .filter((v) => v.home !== undefined && v.home !== v.host)
      .map((v) => {
        const home = final.hosts.find((h) => h.name === v.home);
        const reason = failures.get(v.uuid)?.error ?? (home ? `${v.home} has ${home.freeBytes} bytes free, the VM needs ${v.memoryBytes}` : `${v.home} does not take VMs now (not an enabled, live member)`);
        return { vmUuid: v.uuid, vmName: v.name, homeHost: v.home!, currentHost: v.host, reason };
      });
    p.unreturned = unreturned;
    countReturned(final.vms);
    await s.ctx.store.transaction(async () => {
      for (const uuid of Object.keys(p.homes)) if (!unreturned.some((u) => u.vmUuid === uuid)) await s.ctx.store.vmOrigins.forget(uuid);
      for (const u of unreturned) {
        await s.ctx.store.events.append({ kind: "rolling.vm-not-returned", aggregateId, host: u.currentHost, operationId: s.op.id, message: `${u.vmName} (${u.vmUuid}) stays on ${u.currentHost}, not back on ${u.homeHost}: ${u.reason}` });
      }
    });
    const home = final.vms.filter((v) => v.home !== undefined && v.home === v.host).length;
    return { detail: `${home} VM(s) on their original hosts${unreturned.length ? `; ${unreturned.length} could not go back: ${unreturned.map((u) => `${u.vmName} (on ${u.currentHost}, home ${u.homeHost})`).join(", ")}` : ""}` };
  },
};
