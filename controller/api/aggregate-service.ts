/** AggregateService handlers: decode → intake, or a read → convert. */
import type { ServiceImpl } from "@connectrpc/connect";
import { AggregateSchema, AggregateService, ListAggregatesResponseSchema } from "../../gen/hostaggregates/v1/aggregate_pb.js";
import type { IntakeContext } from "../context.js";
import { addHost } from "../intake/add-host.js";
import { createAggregate } from "../intake/create-aggregate.js";
import { deleteAggregate } from "../intake/delete-aggregate.js";
import { idFrom, requireAggregate } from "../intake/lookups.js";
import { recoverMaster } from "../intake/recover-master.js";
import { removeHost } from "../intake/remove-host.js";
import { startRollingMaintenance } from "../intake/start-rolling-maintenance.js";
import { RollingAction } from "../../gen/hostaggregates/v1/operation_pb.js";
import { repairAggregate } from "../intake/repair-aggregate.js";
import { setAggregateMetadata } from "../intake/set-aggregate-metadata.js";
import { updateAggregate } from "../intake/update-aggregate.js";
import { listAggregates } from "../reads/list-aggregates.js";
import { headroomOf } from "../reads/maintenance-headroom.js";
import type { AggregateRecord, RollingActionName } from "../model/records.js";
import type { Lease } from "../store/store.js";
import { AggregateEncodings, type AggregateView } from "./aggregate-encodings.js";
import { leasedOperationMessage } from "./lease-view.js";
import { encodedAnswer, preEncoded, repeatedMessageField, repeatedMessageJson } from "../../shared/rpc/encoded-message.js";

/** Handlers of AggregateService. */
export function aggregateService(ctx: IntakeContext): ServiceImpl<typeof AggregateService> {
  const { store } = ctx;
  const encodings = new AggregateEncodings();
  /** An aggregate with its lease and the headroom of its members (read from their last reports). */
  const viewOf = async (record: AggregateRecord, lease: Lease | undefined): Promise<AggregateView> =>
    record.members.length > 0 ? { record, lease, headroom: headroomOf(await store.hosts.members(record.id)) } : { record, lease };
  /**
   * The answer showing an aggregate as it is now (with its current lease and headroom): its kept
   * encoding, so a write's answer and the reads after it share one encoding of the record.
   */
  const answerOf = async (record: AggregateRecord) => {
    const view = await viewOf(record, await store.leases.current(record.id));
    return encodedAnswer(AggregateSchema, preEncoded(encodings.bytes(view), () => encodings.json(view)));
  };
  return {
    async createAggregate(req) {
      return await answerOf(await createAggregate(store, { name: req.name, availabilityZone: req.availabilityZone, validateOnly: req.validateOnly }));
    },
    async getAggregate(req) {
      return await answerOf(await requireAggregate(store, idFrom(req.id)));
    },
    async listAggregates(req) {
      const page = await listAggregates(store, { availabilityZone: req.availabilityZone, pageSize: req.pageSize, pageToken: req.pageToken });
      const first = page.aggregates[0]?.id ?? 0;
      const leases = new Map((await store.leases.currentBetween(first, page.aggregates.at(-1)?.id ?? first)).map((l) => [l.aggregateId, l]));
      // The members of the page's pooled aggregates in one read, for their headroom.
      const members = await store.hosts.membersOfAggregates(page.aggregates.filter((a) => a.members.length > 0).map((a) => a.id));
      const views = page.aggregates.map((a): AggregateView => {
        const hosts = members.get(a.id);
        return hosts ? { record: a, lease: leases.get(a.id), headroom: headroomOf(hosts) } : { record: a, lease: leases.get(a.id) };
      });
      // ListAggregatesResponse: aggregates = 1 (repeated Aggregate, JSON "aggregates"), next_page_token = 2 (JSON "nextPageToken").
      const token = page.nextPageToken;
      const bytes = repeatedMessageField(1, views.map((v) => encodings.bytes(v)), [[2, token]]);
      return encodedAnswer(ListAggregatesResponseSchema, preEncoded(bytes, () => repeatedMessageJson("aggregates", views.map((v) => encodings.json(v)), [["nextPageToken", token]])));
    },
    async updateAggregate(req) {
      return await answerOf(await updateAggregate(store, { id: idFrom(req.id), name: req.name, availabilityZone: req.availabilityZone }));
    },
    async setAggregateMetadata(req) {
      return await answerOf(await setAggregateMetadata(store, { id: idFrom(req.id), set: req.metadata, remove: req.removeKeys }));
    },
    async deleteAggregate(req) {
      await deleteAggregate(store, idFrom(req.id));
      return {};
    },
    async addHost(req) {
      return await leasedOperationMessage(store, await addHost(ctx, req.aggregateId, req.host));
    },
    async removeHost(req) {
      return await leasedOperationMessage(store, await removeHost(ctx, req.aggregateId, req.host));
    },
    async repairAggregate(req) {
      return await answerOf(await repairAggregate(ctx, req.id));
    },
    async recoverMaster(req) {
      return await leasedOperationMessage(store, await recoverMaster(ctx, req.id, req.newMaster));
    },
    async startRollingMaintenance(req) {
      const action = req.action === RollingAction.UNSPECIFIED ? undefined : (RollingAction[req.action] as RollingActionName | undefined);
      return await leasedOperationMessage(store, 
        await startRollingMaintenance(ctx, { aggregateId: req.aggregateId, action, hook: req.hook, hosts: req.hosts, maxParallel: req.maxParallel, validateOnly: req.validateOnly, skipReturn: req.skipReturn }),
      );
    },
  };
}
