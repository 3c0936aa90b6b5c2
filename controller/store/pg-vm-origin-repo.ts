/** Where VMs moved by maintenance came from (PostgreSQL), so they can be moved back. */
import type { PgSession } from "./pg-session.js";
import { hydrateVmOrigin, type VmOriginRow } from "./rows.js";
import type { VmOrigin } from "./store.js";

/** Data access for VM origins. */
export class PgVmOriginRepo {
  constructor(private readonly db: PgSession) {}

  /** Records (or replaces) where a VM came from. */
  async record(o: VmOrigin): Promise<void> {
    this.db.requireTransaction();
    await this.db.run(
      `INSERT INTO vm_origins (vm_uuid, vm_name, origin_host, moved_to, operation_id, moved_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (vm_uuid) DO UPDATE SET vm_name = excluded.vm_name, origin_host = excluded.origin_host,
         moved_to = excluded.moved_to, operation_id = excluded.operation_id, moved_at = excluded.moved_at`,
      [o.vmUuid, o.vmName, o.originHost, o.movedTo, o.operationId, o.movedAt],
    );
  }

  /** VMs that left a host. */
  async fromHost(originHost: string): Promise<VmOrigin[]> {
    return (await this.db.rows<VmOriginRow>("SELECT * FROM vm_origins WHERE origin_host = $1 ORDER BY vm_name", [originHost])).map(hydrateVmOrigin);
  }

  /** Origins of the given VMs, by uuid. */
  async byVm(uuids: string[]): Promise<Map<string, VmOrigin>> {
    const rows = uuids.length === 0 ? [] : await this.db.rows<VmOriginRow>("SELECT * FROM vm_origins WHERE vm_uuid = ANY($1::text[])", [uuids]);
    return new Map(rows.map((r) => [r.vm_uuid, hydrateVmOrigin(r)]));
  }

  /** Forgets a VM's origin (it went back, or it is gone). */
  async forget(vmUuid: string): Promise<void> {
    this.db.requireTransaction();
    await this.db.run("DELETE FROM vm_origins WHERE vm_uuid = $1", [vmUuid]);
  }
}
