/** AggregateService handlers. */
import type { ServiceImpl } from "@connectrpc/connect";
import { AggregateService } from "../../gen/hostaggregates/v1/aggregate_pb.js";
import { unimplemented } from "../../shared/errors.js";
import {
  checkAddHost,
  checkRemoveHost,
  createAggregate,
  deleteAggregate,
  idFrom,
  listAggregates,
  requireAggregate,
  setAggregateMetadata,
  updateAggregate,
  validateHostRequest,
} from "../intake/aggregates.js";
import { maintenanceHeadroom } from "../pool/placement.js";
import type { HostRecord } from "../model/records.js";
import { aggregateMessage, operationMessage } from "./convert.js";

/** How many members can be in maintenance at once, from their last reported memory. */
function headroomOf(members: HostRecord[]): number {
  const usable = members.filter((h) => h.membership === "MEMBER" && h.capacity && h.maintenance === "NONE");
  return maintenanceHeadroom(usable.map((h) => ({ totalBytes: h.capacity!.memoryTotalBytes, freeBytes: h.capacity!.memoryFreeBytes })));
}
import type { ControllerContext } from "../context.js";

/** Handlers of AggregateService over the controller context. */
export function aggregateService(ctx: ControllerContext): ServiceImpl<typeof AggregateService> {
  const { store } = ctx;
  const operationById = (id: string) => operationMessage(store.operations.get(id)!);
  return {
    createAggregate(req) {
      return aggregateMessage(createAggregate(store, { name: req.name, availabilityZone: req.availabilityZone, validateOnly: req.validateOnly }));
    },
    getAggregate(req) {
      const aggregate = requireAggregate(store, idFrom(req.id));
      const message = aggregateMessage(aggregate);
      if (aggregate.members.length > 0) {
        ctx.heartbeats.flush();
        message.pool!.maintenanceHeadroom = headroomOf(store.hosts.members(aggregate.id));
      }
      return message;
    },
    listAggregates(req) {
      const page = listAggregates(store, { availabilityZone: req.availabilityZone, pageSize: req.pageSize, pageToken: req.pageToken });
      return { aggregates: page.aggregates.map(aggregateMessage), nextPageToken: page.nextPageToken };
    },
    updateAggregate(req) {
      return aggregateMessage(updateAggregate(store, { id: idFrom(req.id), name: req.name, availabilityZone: req.availabilityZone }));
    },
    setAggregateMetadata(req) {
      return aggregateMessage(setAggregateMetadata(store, { id: idFrom(req.id), set: req.metadata, remove: req.removeKeys }));
    },
    deleteAggregate(req) {
      deleteAggregate(store, idFrom(req.id));
      return {};
    },
    async addHost(req) {
      const aggregateId = validateHostRequest(req.aggregateId, req.host);
      if (ctx.operations) return operationById(await ctx.operations.addHost(aggregateId, req.host));
      store.transaction(() => checkAddHost(store, aggregateId, req.host));
      throw unimplemented("AddHost passed validation, but pool orchestration (joining the XenServer pool) is not implemented yet");
    },
    async removeHost(req) {
      const aggregateId = validateHostRequest(req.aggregateId, req.host);
      if (ctx.operations) return operationById(await ctx.operations.removeHost(aggregateId, req.host));
      store.transaction(() => checkRemoveHost(store, aggregateId, req.host));
      throw unimplemented("RemoveHost passed validation, but pool orchestration (ejecting from the XenServer pool) is not implemented yet");
    },
    async repairAggregate(req) {
      const id = idFrom(req.id);
      if (ctx.operations) return aggregateMessage(await ctx.operations.repair(id));
      requireAggregate(store, id);
      throw unimplemented("RepairAggregate needs pool orchestration, which is not implemented yet");
    },
    async recoverMaster(req) {
      const id = idFrom(req.id);
      if (ctx.operations) return operationById(await ctx.operations.recoverMaster(id, req.newMaster || undefined));
      requireAggregate(store, id);
      throw unimplemented("RecoverMaster needs pool orchestration, which is not implemented yet");
    },
  };
}
