/** Reads a host's VMs and its pool's members, and plans the evacuation (also used by dry runs). */
import type { HostRecord, EvacuationRecord } from "../model/records.js";
import { evacuationRecordOf, planEvacuation, type PlacementTarget } from "./placement.js";
import { isRunningGuest } from "./guests.js";
import { callOptions, hostRecord, readPool } from "./pool-view.js";
import type { StepContext } from "../engine/step-spec.js";

type Reader = Pick<StepContext, "ctx" | "agents" | "signal" | "remainingMs">;

/** Hosts of the aggregate whose agents can answer for the pool, master first. */
export async function poolContacts(s: Pick<StepContext, "ctx">, aggregateId: number): Promise<string[]> {
  const aggregate = (await s.ctx.store.aggregates.get(aggregateId))!;
  const members = (await s.ctx.store.hosts.members(aggregateId)).filter((h) => h.membership === "MEMBER").map((h) => h.name);
  return [aggregate.masterHost, ...members].filter((n, i, all): n is string => !!n && all.indexOf(n) === i);
}

/** Members that can take VMs: enabled and live in XenServer, enabled and not in maintenance in the record. */
export async function placementTargets(s: Reader, aggregateId: number, excludeHost: string): Promise<PlacementTarget[]> {
  const { pool } = await readPool(s, await poolContacts(s, aggregateId));
  const records = new Map((await s.ctx.store.hosts.members(aggregateId)).map((h) => [h.uuid, h]));
  return pool.members
    .filter((m) => {
      const record = records.get(m.uuid);
      return m.enabled && m.live && record && record.name !== excludeHost && record.enabled && record.maintenance === "NONE" && record.membership === "MEMBER";
    })
    .map((m) => ({ name: records.get(m.uuid)!.name, uuid: m.uuid, freeBytes: Number(m.memoryFreeBytes), cpuVendor: m.cpuVendor }));
}

/** The host's CPU vendor as its pool reports it. */
export async function cpuVendorOf(s: Reader, host: HostRecord): Promise<string> {
  const info = await s.agents.forHost(host).getHostInfo({}, callOptions(s, 15_000));
  return info.cpuVendor;
}

/** Plans the evacuation of a host: every running guest VM gets a target or a blocker. */
export async function planHostEvacuation(s: Reader, hostName: string, maxParallel: number, validateOnly: boolean): Promise<EvacuationRecord> {
  const host = await hostRecord(s, hostName);
  const aggregateId = host.aggregateId!;
  const contact = await hostRecord(s, (await poolContacts(s, aggregateId))[0] ?? hostName);
  const { vms } = await s.agents.forHost(contact).listVms({ hostUuid: host.uuid ?? "" }, callOptions(s, 30_000));
  const guests = vms.filter(isRunningGuest);
  const targets = await placementTargets(s, aggregateId, hostName);
  const plan = planEvacuation(
    guests.map((v) => ({ uuid: v.uuid, name: v.name, memoryBytes: Number(v.memoryBytes), localStorage: v.localStorage, blocker: v.evacuationBlocker })),
    targets,
    await cpuVendorOf(s, host),
  );
  return evacuationRecordOf(plan, { fromHost: () => hostName, vmsTotal: guests.length, maxParallel, validateOnly });
}

/** A one-line list of blockers for messages. */
export function describeBlockers(ev: EvacuationRecord): string {
  return ev.blockers.map((b) => `${b.vmName} (${b.vmUuid}): ${b.xapiCode} [${b.xapiParams.join(", ")}] ${b.reason}`).join("; ");
}
