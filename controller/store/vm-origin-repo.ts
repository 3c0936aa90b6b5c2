/** Where VMs moved by maintenance came from, so they can be moved back. */
import { statement, type Db } from "./database.js";
import { hydrateVmOrigin, type VmOriginRow } from "./rows.js";
import type { VmOrigin } from "./store.js";

/** Data access for VM origins. */
export class VmOriginRepo {
  constructor(
    private readonly db: Db,
    private readonly hooks: { requireTransaction(): void },
  ) {}

  /** Records (or replaces) where a VM came from. */
  record(o: VmOrigin): void {
    this.hooks.requireTransaction();
    statement(
      this.db,
      `INSERT INTO vm_origins (vm_uuid, vm_name, origin_host, moved_to, operation_id, moved_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT(vm_uuid) DO UPDATE SET vm_name = excluded.vm_name, origin_host = excluded.origin_host,
         moved_to = excluded.moved_to, operation_id = excluded.operation_id, moved_at = excluded.moved_at`,
    ).run(o.vmUuid, o.vmName, o.originHost, o.movedTo, o.operationId, o.movedAt);
  }

  /** VMs that left a host. */
  fromHost(originHost: string): VmOrigin[] {
    return (statement(this.db, "SELECT * FROM vm_origins WHERE origin_host = ? ORDER BY vm_name").all(originHost) as VmOriginRow[]).map(hydrateVmOrigin);
  }

  /** Origins of the given VMs, by uuid. */
  byVm(uuids: string[]): Map<string, VmOrigin> {
    const out = new Map<string, VmOrigin>();
    const stmt = statement(this.db, "SELECT * FROM vm_origins WHERE vm_uuid = ?");
    for (const uuid of uuids) {
      const row = stmt.get(uuid) as VmOriginRow | undefined;
      if (row) out.set(uuid, hydrateVmOrigin(row));
    }
    return out;
  }

  /** Forgets a VM's origin (it went back, or it is gone). */
  forget(vmUuid: string): void {
    this.hooks.requireTransaction();
    statement(this.db, "DELETE FROM vm_origins WHERE vm_uuid = ?").run(vmUuid);
  }
}
