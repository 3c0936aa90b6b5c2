/** The rows of a pool database: pool, host, VM, SR, task and in-flight migration. */

/** The pool object of one pool database. */
export interface PoolRow {
  ref: string;
  uuid: string;
  nameLabel: string;
  nameDescription: string;
  /** Host ref of the master in this database. */
  masterRef: string;
  otherConfig: Record<string, string>;
}

/** A host record in a pool database (the physical host is a {@link Machine}, matched by uuid). */
export interface HostRow {
  ref: string;
  uuid: string;
  nameLabel: string;
  nameDescription: string;
  enabled: boolean;
  /** From host.disable's auto_enable: re-enable at the next toolstack start. */
  autoEnable: boolean;
  /** host_metrics.live. */
  live: boolean;
  /** False until the host first connected (memory_total = 0 right after a join). */
  memoryKnown: boolean;
  metricsRef: string;
  metricsUuid: string;
  /** host_metrics.last_updated, epoch ms. */
  lastUpdated: number;
  otherConfig: Record<string, string>;
}

/** XenAPI VM power states. */
export type PowerState = "Running" | "Halted" | "Suspended" | "Paused";

/** An in-flight VM.pool_migrate (persisted so a reload can settle it). */
export interface MigrationRow {
  taskRef: string;
  sourceRef: string;
  targetRef: string;
  /** Memory reserved on the target until the migration ends. */
  reservedBytes: number;
}

/** A VM record (guests, templates and control domains). */
export interface VmRow {
  ref: string;
  uuid: string;
  nameLabel: string;
  nameDescription: string;
  powerState: PowerState;
  /** Host ref, or OpaqueRef:NULL when not resident. */
  residentOn: string;
  isTemplate: boolean;
  isDefaultTemplate: boolean;
  isControlDomain: boolean;
  /** memory_static_max = dynamic_max = dynamic_min = target, in bytes. */
  memoryBytes: number;
  /** memory_overhead in bytes (0 for control domains). */
  overheadBytes: number;
  vcpus: number;
  domid: number;
  /** The SR holding the VM's disks when it is on a host's local storage, else null (shared storage). */
  localSrRef: string | null;
  /** current_operations: task ref → operation name. */
  currentOperations: Record<string, string>;
  migration: MigrationRow | null;
  otherConfig: Record<string, string>;
}

/** A storage repository (only local SRs and an optional shared SR are modelled). */
export interface SrRow {
  ref: string;
  uuid: string;
  nameLabel: string;
  type: string;
  shared: boolean;
  /** The host whose local disk this is, or null for shared SRs. */
  hostUuid: string | null;
  sizeBytes: number;
}

/** XenAPI task status. */
export type TaskStatus = "pending" | "success" | "failure" | "cancelling" | "cancelled";

/** A task (Async.* calls and sync migrations). */
export interface TaskRow {
  ref: string;
  uuid: string;
  nameLabel: string;
  nameDescription: string;
  /** Epoch ms. */
  created: number;
  /** Epoch ms, or null while pending. */
  finished: number | null;
  status: TaskStatus;
  residentOn: string;
  /** Fixed progress; live progress of migrations is computed on read. */
  progress: number;
  /** XML fragment `<value>…</value>` on success. */
  result: string;
  errorInfo: string[];
  otherConfig: Record<string, string>;
}
