/**
 * Fresh standalone hosts: a new one-host pool database (control domain, local SR, default
 * templates), and the helpers that add host rows, local SRs and VMs.
 */
import { NULL_REF, newRef, newUuid } from "../ids.js";
import type { Machine } from "./machine.js";
import { PoolDb } from "./pool-db.js";
import type { HostRow, PowerState, SrRow, VmRow } from "./rows.js";

const MiB = 1024 * 1024;

/** memory_overhead of a guest: ceil(memory / 128) + 1 MiB (shadow/page tables, xenstore). */
export function vmOverheadBytes(memoryBytes: number): number {
  return (Math.ceil(memoryBytes / MiB / 128) + 1) * MiB;
}

/** A new VM row with sane defaults. */
export function newVmRow(fields: {
  nameLabel: string;
  memoryBytes: number;
  powerState: PowerState;
  residentOn: string;
  isTemplate?: boolean;
  isDefaultTemplate?: boolean;
  isControlDomain?: boolean;
  localSrRef?: string | null;
  vcpus?: number;
  domid?: number;
  uuid?: string;
}): VmRow {
  const resident = fields.powerState === "Running" || fields.powerState === "Paused";
  return {
    ref: newRef(),
    uuid: fields.uuid ?? newUuid(),
    nameLabel: fields.nameLabel,
    nameDescription: "",
    powerState: fields.powerState,
    residentOn: resident ? fields.residentOn : NULL_REF,
    isTemplate: fields.isTemplate ?? false,
    isDefaultTemplate: fields.isDefaultTemplate ?? false,
    isControlDomain: fields.isControlDomain ?? false,
    memoryBytes: fields.memoryBytes,
    overheadBytes: fields.isControlDomain ? 0 : vmOverheadBytes(fields.memoryBytes),
    vcpus: fields.vcpus ?? 2,
    domid: resident ? (fields.domid ?? 1) : -1,
    localSrRef: fields.localSrRef ?? null,
    currentOperations: {},
    migration: null,
    otherConfig: {},
  };
}

const DEFAULT_TEMPLATES: readonly { name: string; memoryMiB: number }[] = [
  { name: "Other install media", memoryMiB: 1024 },
  { name: "Debian Bookworm 12", memoryMiB: 2048 },
  { name: "Windows Server 2022 (64-bit)", memoryMiB: 4096 },
];

/** Adds the host record and its host_metrics identity for a machine to a database. */
export function addHostRow(db: PoolDb, machine: Machine, init: { enabled: boolean; live: boolean; memoryKnown: boolean }): HostRow {
  const row: HostRow = {
    ref: newRef(),
    uuid: machine.uuid,
    nameLabel: machine.name,
    nameDescription: "Default install",
    enabled: init.enabled,
    autoEnable: true,
    live: init.live,
    memoryKnown: init.memoryKnown,
    metricsRef: newRef(),
    metricsUuid: newUuid(),
    lastUpdated: Date.now(),
    otherConfig: {},
  };
  db.hosts.set(row.ref, row);
  return row;
}

/** Makes sure the host has its local SR (and the shared SR it brings) in the database. Returns the local SR. */
export function ensureLocalSr(db: PoolDb, machine: Machine): SrRow {
  let local = db.localSrOf(machine.uuid);
  if (!local) {
    local = {
      ref: newRef(),
      uuid: newUuid(),
      nameLabel: "Local storage",
      type: "ext",
      shared: false,
      hostUuid: machine.uuid,
      sizeBytes: 1_800 * 1024 * MiB,
    };
    db.srs.set(local.ref, local);
  }
  if (machine.facts.hasSharedSr && ![...db.srs.values()].some((s) => s.shared)) {
    const sr: SrRow = {
      ref: newRef(),
      uuid: newUuid(),
      nameLabel: "NFS storage",
      type: "nfs",
      shared: true,
      hostUuid: null,
      sizeBytes: 10 * 1024 * 1024 * MiB,
    };
    db.srs.set(sr.ref, sr);
  }
  return local;
}

/**
 * Makes sure a host that is up in this database has its control domain and
 * its local SR. Idempotent.
 */
export function ensureHostObjects(db: PoolDb, machine: Machine, host: HostRow): void {
  ensureLocalSr(db, machine);
  if (!db.controlDomainOf(host.ref)) {
    const vm = newVmRow({
      nameLabel: `Control domain on host: ${machine.name}`,
      memoryBytes: machine.facts.dom0MemoryMiB * MiB,
      powerState: "Running",
      residentOn: host.ref,
      isControlDomain: true,
      vcpus: 16,
      domid: 0,
    });
    db.vms.set(vm.ref, vm);
  }
}

/** A fresh pool database for a standalone host: new pool (empty name), host, dom0, local SR, templates. */
export function createStandaloneDb(machine: Machine): PoolDb {
  const db = new PoolDb(newUuid(), {
    ref: newRef(),
    uuid: newUuid(),
    nameLabel: "",
    nameDescription: "",
    masterRef: NULL_REF,
    otherConfig: {},
  });
  const host = addHostRow(db, machine, { enabled: true, live: true, memoryKnown: true });
  db.pool.masterRef = host.ref;
  ensureHostObjects(db, machine, host);
  for (const t of DEFAULT_TEMPLATES) {
    const vm = newVmRow({
      nameLabel: t.name,
      memoryBytes: t.memoryMiB * MiB,
      powerState: "Halted",
      residentOn: NULL_REF,
      isTemplate: true,
      isDefaultTemplate: true,
    });
    db.vms.set(vm.ref, vm);
  }
  return db;
}
