/** HostService handlers: decode → intake, or a read → convert. */
import type { ServiceImpl } from "@connectrpc/connect";
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
import { residentVms } from "../reads/resident-vms.js";
import { hostMessage, operationMessage } from "./convert.js";

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
      const host = hostMessage(await requireHost(store, req.name));
      try {
        host.vms = (await residentVms(ctx, req.name)).map((v) => ({ ...v, memoryBytes: BigInt(v.memoryBytes) }));
      } catch (err) {
        host.statusReason ||= `resident VMs unknown: ${err instanceof Error ? err.message : String(err)}`;
      }
      return host;
    },
    async setHostEnabled(req) {
      return hostMessage(await setHostEnabled(ctx, req.name, req.enabled));
    },
    async startMaintenance(req) {
      return operationMessage(await startMaintenance(ctx, { host: req.host, validateOnly: req.validateOnly, maxParallel: req.maxParallel, allowPartial: req.allowPartial }));
    },
    async stopMaintenance(req) {
      return operationMessage(await stopMaintenance(ctx, req.host, req.rebalance));
    },
    async forgetHost(req) {
      await forgetHost(ctx, req.name);
      return {};
    },
  };
}
