/** HostService handlers. */
import type { ServiceImpl } from "@connectrpc/connect";
import { HostService } from "../../gen/hostaggregates/v1/host_pb.js";
import { failedPrecondition, unimplemented } from "../../shared/errors.js";
import { assertValid, requireHost } from "../intake/aggregates.js";
import { pageOfHosts } from "../intake/hosts.js";
import { checkHostName, violations } from "../model/validation.js";
import { hostMessage, operationMessage } from "./convert.js";
import type { ControllerContext } from "../context.js";

/** Handlers of HostService over the controller context. */
export function hostService(ctx: ControllerContext): ServiceImpl<typeof HostService> {
  const { store } = ctx;
  const validName = (name: string, field = "name") => assertValid(violations(checkHostName(name, field)));
  return {
    listHosts(req) {
      ctx.heartbeats.flush();
      if (req.aggregateId < 0n) assertValid([{ field: "aggregate_id", description: "aggregate_id must not be negative" }]);
      const aggregateId = Number(req.aggregateId);
      const page = pageOfHosts(
        (afterName, limit) => store.hosts.list({ aggregateId: aggregateId === 0 ? undefined : aggregateId, afterName, limit }),
        { aggregateId, pageSize: req.pageSize, pageToken: req.pageToken },
      );
      return { hosts: page.hosts.map(hostMessage), nextPageToken: page.nextPageToken };
    },
    async getHost(req) {
      validName(req.name);
      ctx.heartbeats.flush();
      const host = hostMessage(requireHost(store, req.name));
      if (ctx.operations) {
        try {
          host.vms = (await ctx.operations.residentVms(req.name)).map((v) => ({ ...v, memoryBytes: BigInt(v.memoryBytes) }));
        } catch (err) {
          host.statusReason ||= `resident VMs unknown: ${err instanceof Error ? err.message : String(err)}`;
        }
      }
      return host;
    },
    setHostEnabled(req) {
      validName(req.name);
      return store.transaction(() => {
        const host = requireHost(store, req.name);
        if (req.enabled && host.maintenance !== "NONE") {
          throw failedPrecondition(`host "${req.name}" is in maintenance (${host.maintenance}); use StopMaintenance`);
        }
        store.hosts.setEnabled(req.name, req.enabled, req.enabled ? null : "disabled by an operator");
        return hostMessage(store.hosts.get(req.name)!);
      });
    },
    async startMaintenance(req) {
      validName(req.host, "host");
      if (!ctx.operations) throw unimplemented("StartMaintenance needs the orchestrator");
      const result = await ctx.operations.startMaintenance(req.host, { validateOnly: req.validateOnly, maxParallel: req.maxParallel, allowPartial: req.allowPartial });
      return operationMessage(typeof result === "string" ? store.operations.get(result)! : result);
    },
    async stopMaintenance(req) {
      validName(req.host, "host");
      if (!ctx.operations) throw unimplemented("StopMaintenance needs the orchestrator");
      return operationMessage(store.operations.get(await ctx.operations.stopMaintenance(req.host, req.rebalance))!);
    },
    forgetHost(req) {
      validName(req.name);
      store.transaction(() => {
        const host = requireHost(store, req.name);
        if (host.aggregateId !== null) throw failedPrecondition(`host "${req.name}" is in aggregate ${host.aggregateId}; remove it first`);
        store.hosts.delete(req.name);
      });
      return {};
    },
  };
}
