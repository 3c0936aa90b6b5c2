/** Reading a pool as its master reports it: the pool record, every host with its metrics, and the VMs. */
import type { Logger } from "../../shared/logging.js";
import { XapiUnreachableError, isXapiError } from "../xapi/errors.js";
import {
  hostMetrics,
  hostRecord,
  poolRecord,
  recordsOf,
  unknownMetrics,
  vmRecord,
  type HostMetrics,
  type HostRecord,
  type PoolRecord,
  type VmRecord,
} from "../xapi/records.js";
import type { XapiSession } from "../xapi/session.js";
import { bool, isRef, str, strings, struct } from "../xapi/values.js";
import type { XapiCallOptions } from "../xapi/xapi-rpc.js";
import type { HostIdentity } from "./agent-context.js";

/** A host of the pool with its metrics. */
export interface PoolHost extends HostRecord {
  metrics: HostMetrics;
}

/** The pool and its hosts, read from one session. */
export interface PoolSnapshot {
  pool: PoolRecord;
  hosts: PoolHost[];
}

/** Reads the pool record and every host (with host_metrics) through `session`. */
export async function readPool(session: XapiSession, options: XapiCallOptions = {}): Promise<PoolSnapshot> {
  const poolRefs = strings(await session.call("pool.get_all", [], options));
  const poolRef = poolRefs[0];
  if (!poolRef) throw new Error("pool.get_all returned no pool");
  const pool = poolRecord(poolRef, await session.call("pool.get_record", [poolRef], options));
  const records = recordsOf(await session.call("host.get_all_records", [], options), hostRecord);
  const hosts = await Promise.all(
    records.map(async (host): Promise<PoolHost> => {
      if (!isRef(host.metricsRef)) return { ...host, metrics: unknownMetrics };
      try {
        return { ...host, metrics: hostMetrics(await session.call("host_metrics.get_record", [host.metricsRef], options)) };
      } catch (err) {
        if (isXapiError(err, "HANDLE_INVALID")) return { ...host, metrics: unknownMetrics };
        throw err;
      }
    }),
  );
  return { pool, hosts };
}

/** The master of a snapshot. */
export function masterOf(snapshot: PoolSnapshot): PoolHost | undefined {
  return snapshot.hosts.find((h) => h.ref === snapshot.pool.masterRef);
}

/** The host with a uuid. */
export function hostByUuid(snapshot: PoolSnapshot, uuid: string): PoolHost | undefined {
  return snapshot.hosts.find((h) => h.uuid === uuid);
}

/**
 * The agent's own host in a pool snapshot: by remembered uuid, else by management address,
 * else by name (name_label or hostname equal to the agent's host name).
 */
export function findOwnHost(snapshot: PoolSnapshot, identity: HostIdentity, address: string, hostName: string): PoolHost | undefined {
  return (
    (identity.uuid ? hostByUuid(snapshot, identity.uuid) : undefined) ??
    snapshot.hosts.find((h) => h.address === address) ??
    snapshot.hosts.find((h) => h.name === hostName || h.hostname === hostName)
  );
}

/** A VM with whether its disks are on host-local storage, and what keeps it from leaving its host. */
export interface PoolVm extends VmRecord {
  localStorage: boolean;
  /**
   * The VM's entry of host.get_vms_which_prevent_evacuation for its host: [code, params…];
   * empty when it can move, or when that was not asked or could not be read.
   */
  evacuationBlocker: string[];
}

/** Evacuation blockers by VM ref (host.get_vms_which_prevent_evacuation). */
export type EvacuationBlockers = ReadonlyMap<string, readonly string[]>;

/** Reads every VM of the pool (templates, snapshots and control domains included); no evacuation blockers yet. */
export async function readVms(session: XapiSession, options: XapiCallOptions = {}): Promise<PoolVm[]> {
  const vms = recordsOf(await session.call("VM.get_all_records", [], options), vmRecord);
  const local = await localStorageVms(session, vms, options);
  return vms.map((vm) => ({ ...vm, localStorage: local.has(vm.ref), evacuationBlocker: [] }));
}

/** The VMs with their evacuation blockers attached (see readEvacuationBlockers). */
export function withEvacuationBlockers(vms: PoolVm[], blockers: EvacuationBlockers): PoolVm[] {
  return vms.map((vm) => ({ ...vm, evacuationBlocker: [...(blockers.get(vm.ref) ?? vm.evacuationBlocker)] }));
}

/** The pool's VMs and, read concurrently, the evacuation blockers of the VMs resident on hostRef. */
export async function readVmsOfHost(session: XapiSession, hostRef: string, log: Logger, options: XapiCallOptions = {}): Promise<PoolVm[]> {
  const [vms, blockers] = await Promise.all([readVms(session, options), readEvacuationBlockers(session, hostRef, log, options)]);
  return withEvacuationBlockers(vms, blockers);
}

/**
 * host.get_vms_which_prevent_evacuation(host) on the master: VM ref → [code, params…] for every
 * VM XenServer would refuse to move off `hostRef` now. Best effort: when the call fails (not
 * implemented, host offline, …) that is logged at debug and no VM has a blocker. A cancelled
 * call still throws.
 */
export async function readEvacuationBlockers(session: XapiSession, hostRef: string, log: Logger, options: XapiCallOptions = {}): Promise<Map<string, string[]>> {
  try {
    const value = struct(await session.call("host.get_vms_which_prevent_evacuation", [hostRef], options));
    return new Map(Object.entries(value).map(([vm, entry]) => [vm, strings(entry)] as const).filter(([, entry]) => entry.length > 0));
  } catch (err) {
    if (options.signal?.aborted || (err instanceof XapiUnreachableError && err.reason === "aborted")) throw err;
    log.debug("cannot read the VMs that prevent evacuation; leaving evacuation_blocker empty", {
      host: hostRef,
      error: err instanceof Error ? err.message : String(err),
    });
    return new Map();
  }
}

/**
 * Refs of the VMs with a disk on a non-shared SR (VBD → VDI → SR.shared). Best effort: when
 * the XAPI does not expose VBDs/VDIs (MESSAGE_METHOD_UNKNOWN), no VM is marked local.
 */
async function localStorageVms(session: XapiSession, vms: VmRecord[], options: XapiCallOptions): Promise<Set<string>> {
  const local = new Set<string>();
  if (!vms.some((vm) => vm.vbds.length > 0)) return local;
  try {
    const [vbds, vdis, srs] = await Promise.all(
      ["VBD.get_all_records", "VDI.get_all_records", "SR.get_all_records"].map(async (m) => struct(await session.call(m, [], options))),
    );
    const srOfVdi = (vdi: string) => str(struct(vdis![vdi]).SR);
    const isLocalSr = (sr: string) => isRef(sr) && sr in srs! && !bool(struct(srs![sr]).shared);
    for (const vm of vms) {
      for (const vbd of vm.vbds) {
        const record = struct(vbds![vbd]);
        if (str(record.type) === "CD") continue;
        if (isLocalSr(srOfVdi(str(record.VDI)))) local.add(vm.ref);
      }
    }
  } catch (err) {
    if (!isXapiError(err, "MESSAGE_METHOD_UNKNOWN")) throw err;
  }
  return local;
}
