/**
 * One pool database (pool, hosts, VMs, SRs, tasks) as its master holds it: lookups, serialised
 * pool operations, JSON form, and the copy a split brain diverges on.
 */
import type { HostRow, PoolRow, SrRow, TaskRow, VmRow } from "./rows.js";

/** JSON form of a {@link PoolDb} (state file). */
export interface PoolDbJson {
  id: string;
  pool: PoolRow;
  hosts: HostRow[];
  vms: VmRow[];
  srs: SrRow[];
  tasks: TaskRow[];
}

/**
 * One pool database, as held by a pool master (slaves use their master's).
 * Records are keyed by ref. A split-brain (two masters) is modelled by
 * forking the database with {@link PoolDb.clone}.
 */
export class PoolDb {
  readonly id: string;
  pool: PoolRow;
  readonly hosts = new Map<string, HostRow>();
  readonly vms = new Map<string, VmRow>();
  readonly srs = new Map<string, SrRow>();
  readonly tasks = new Map<string, TaskRow>();
  /** Set while pool.designate_new_master runs (runtime only). */
  designateInProgress = false;
  /** Name of the pool operation running now, if any (runtime only). */
  poolOperation: string | null = null;
  private poolOpTail: Promise<void> = Promise.resolve();

  constructor(id: string, pool: PoolRow) {
    this.id = id;
    this.pool = pool;
  }

  /** The host record with this uuid, if any. */
  hostByUuid(uuid: string): HostRow | undefined {
    for (const host of this.hosts.values()) if (host.uuid === uuid) return host;
    return undefined;
  }

  /** The master's host record. */
  masterRow(): HostRow | undefined {
    return this.hosts.get(this.pool.masterRef);
  }

  /** The control domain VM of a host. */
  controlDomainOf(hostRef: string): VmRow | undefined {
    for (const vm of this.vms.values()) if (vm.isControlDomain && vm.residentOn === hostRef) return vm;
    return undefined;
  }

  /** The local SR of the host with this uuid. */
  localSrOf(hostUuid: string): SrRow | undefined {
    for (const sr of this.srs.values()) if (!sr.shared && sr.hostUuid === hostUuid) return sr;
    return undefined;
  }

  /** Non-control-domain VMs that are resident on the host (Running or Paused). */
  residentGuests(hostRef: string): VmRow[] {
    const out: VmRow[] = [];
    for (const vm of this.vms.values()) if (!vm.isControlDomain && vm.residentOn === hostRef) out.push(vm);
    return out;
  }

  /**
   * Runs pool-level operations one at a time (pool.eject is serialised like
   * xapi's with_pool_operation): later callers wait for earlier ones.
   */
  withPoolOperation<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const run = this.poolOpTail.then(async () => {
      this.poolOperation = name;
      try {
        return await fn();
      } finally {
        this.poolOperation = null;
      }
    });
    this.poolOpTail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Plain-data snapshot (runtime flags excluded). */
  toJson(): PoolDbJson {
    return structuredClone({
      id: this.id,
      pool: this.pool,
      hosts: [...this.hosts.values()],
      vms: [...this.vms.values()],
      srs: [...this.srs.values()],
      tasks: [...this.tasks.values()],
    });
  }

  /** Rebuilds a database from {@link toJson} output. */
  static fromJson(json: PoolDbJson): PoolDb {
    const data = structuredClone(json);
    const db = new PoolDb(data.id, data.pool);
    for (const h of data.hosts) db.hosts.set(h.ref, h);
    for (const v of data.vms) db.vms.set(v.ref, v);
    for (const s of data.srs) db.srs.set(s.ref, s);
    for (const t of data.tasks) db.tasks.set(t.ref, t);
    return db;
  }

  /** A deep copy under a new id (same refs and uuids): a diverging backup. */
  clone(newId: string): PoolDb {
    return PoolDb.fromJson({ ...this.toJson(), id: newId });
  }
}
