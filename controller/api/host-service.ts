/** HostService handlers: decode → intake, or a read → convert. */
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { HostService } from "../../gen/hostaggregates/v1/host_pb.js";
import type { IntakeContext } from "../context.js";
import { forgetHost } from "../intake/forget-host.js";
import { assertValid, requireHost } from "../intake/lookups.js";
import { setHostEnabled } from "../intake/set-host-enabled.js";
import { startMaintenance } from "../intake/start-maintenance.js";
import { stopMaintenance } from "../intake/stop-maintenance.js";
import { pageOf } from "../model/paging.js";
import type { HostRecord } from "../model/records.js";
import { checkHostName, checkPageSize, violations } from "../model/validation.js";
import { residentVms, residentVmsTimeoutMs } from "../reads/resident-vms.js";
import { hostMessage } from "./convert.js";
import { leasedOperationMessage } from "./lease-view.js";

/** Why the resident VMs could not be read, for the answer's status_reason. */
function residentVmsFailure(err: unknown): string {
  const code = err instanceof ConnectError ? err.code : undefined;
  if (code === Code.DeadlineExceeded || code === Code.Canceled || (err instanceof Error && err.name === "TimeoutError")) {
    return `the pool's agent did not answer within ${residentVmsTimeoutMs / 1000} s`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** Handlers of HostService. */
export function hostService(ctx: IntakeContext): ServiceImpl<typeof HostService> {
  const { store } = ctx;
  return {
    async listHosts(req) {
      assertValid(violations(checkPageSize(req.pageSize)));
      if (req.aggregateId < 0n) assertValid([{ field: "aggregate_id", description: "aggregate_id must not be negative" }]);
      const aggregateId = req.aggregateId === 0n ? undefined : Number(req.aggregateId);
      const page = await pageOf<HostRecord, string>(
        { pageSize: req.pageSize, pageToken: req.pageToken, filter: `aggregate=${req.aggregateId}` },
        "string",
        async (afterName, limit) => await store.hosts.list({ aggregateId, afterName: afterName ?? "", limit }),
        (h) => h.name,
      );
      return { hosts: page.items.map(hostMessage), nextPageToken: page.nextPageToken };
    },
    async getHost(req) {
      assertValid(violations(checkHostName(req.name, "name")));
      const record = await requireHost(store, req.name);
      const host = hostMessage(record);
      // The controller manages VMs only in its pools: a host in no aggregate is answered from the record alone.
      if (record.aggregateId === null) return host;
      try {
        host.vms = (await residentVms(ctx, req.name)).map((v) => ({ ...v, memoryBytes: BigInt(v.memoryBytes) }));
      } catch (err) {
        const unknown = `resident VMs unknown: ${residentVmsFailure(err)}`;
        host.statusReason = host.statusReason ? `${host.statusReason}; ${unknown}` : unknown;
      }
      return host;
    },
    async setHostEnabled(req) {
      return hostMessage(await setHostEnabled(ctx, req.name, req.enabled));
    },
    async startMaintenance(req) {
      return await leasedOperationMessage(store, await startMaintenance(ctx, { host: req.host, validateOnly: req.validateOnly, maxParallel: req.maxParallel, allowPartial: req.allowPartial }));
    },
    async stopMaintenance(req) {
      return await leasedOperationMessage(store, await stopMaintenance(ctx, req.host, req.rebalance));
    },
    async forgetHost(req) {
      await forgetHost(ctx, req.name);
      return {};
    },
  };
}
