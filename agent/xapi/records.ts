/** Typed views of the XenAPI records the agent reads (host, host_metrics, pool, VM). */
import { bool, int64, isRef, str, strings, struct, type XapiValue } from "./values.js";

/** A host record (the fields the agent uses). */
export interface HostRecord {
  ref: string;
  uuid: string;
  name: string;
  address: string;
  hostname: string;
  enabled: boolean;
  metricsRef: string;
  cpuVendor: string;
  residentVms: string[];
  /** The host's control domain (dom0) VM. */
  controlDomain: string;
  /** other_config:boot_time ("" when absent): seconds since the epoch, as xapi writes it at start-up. */
  bootTime: string;
  /** other_config:agent_start_time ("" when absent): when the toolstack last started. */
  agentStartTime: string;
}

/** A host_metrics record. */
export interface HostMetrics {
  memoryTotal: bigint;
  memoryFree: bigint;
  live: boolean;
}

/** A pool record. */
export interface PoolRecord {
  ref: string;
  uuid: string;
  name: string;
  masterRef: string;
}

/** A VM record (the fields the agent uses). */
export interface VmRecord {
  ref: string;
  uuid: string;
  name: string;
  powerState: string;
  residentOn: string;
  memoryStaticMax: bigint;
  isControlDomain: boolean;
  isTemplate: boolean;
  isSnapshot: boolean;
  vbds: string[];
}

/** Parses host.get_record. */
export function hostRecord(ref: string, value: XapiValue): HostRecord {
  const r = struct(value);
  return {
    ref,
    uuid: str(r.uuid),
    name: str(r.name_label),
    address: str(r.address),
    hostname: str(r.hostname),
    enabled: bool(r.enabled),
    metricsRef: str(r.metrics),
    cpuVendor: str(struct(r.cpu_info).vendor),
    residentVms: strings(r.resident_VMs),
    controlDomain: str(r.control_domain),
    bootTime: str(struct(r.other_config).boot_time),
    agentStartTime: str(struct(r.other_config).agent_start_time),
  };
}

/** Parses host_metrics.get_record. */
export function hostMetrics(value: XapiValue): HostMetrics {
  const r = struct(value);
  return { memoryTotal: int64(r.memory_total), memoryFree: int64(r.memory_free), live: bool(r.live) };
}

/** Metrics of a host whose metrics cannot be read. */
export const unknownMetrics: HostMetrics = { memoryTotal: 0n, memoryFree: 0n, live: false };

/** Parses pool.get_record. */
export function poolRecord(ref: string, value: XapiValue): PoolRecord {
  const r = struct(value);
  return { ref, uuid: str(r.uuid), name: str(r.name_label), masterRef: str(r.master) };
}

/** Parses VM.get_record. */
export function vmRecord(ref: string, value: XapiValue): VmRecord {
  const r = struct(value);
  const residentOn = str(r.resident_on);
  return {
    ref,
    uuid: str(r.uuid),
    name: str(r.name_label),
    powerState: str(r.power_state),
    residentOn: isRef(residentOn) ? residentOn : "",
    memoryStaticMax: int64(r.memory_static_max),
    isControlDomain: bool(r.is_control_domain),
    isTemplate: bool(r.is_a_template),
    isSnapshot: bool(r.is_a_snapshot),
    vbds: strings(r.VBDs),
  };
}

/** Parses a `ref -> record` map (get_all_records). */
export function recordsOf<T>(value: XapiValue, parse: (ref: string, record: XapiValue) => T): T[] {
  return Object.entries(struct(value)).map(([ref, record]) => parse(ref, record));
}
