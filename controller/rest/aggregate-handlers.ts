/**
 * The os-aggregates operations over intake and reads — the same functions the gRPC
 * AggregateService calls, so both APIs share every rule.
 */
import type { IntakeContext } from "../context.js";
import { addHost } from "../intake/add-host.js";
import { createAggregate } from "../intake/create-aggregate.js";
import { deleteAggregate } from "../intake/delete-aggregate.js";
import { idFrom, requireAggregate } from "../intake/lookups.js";
import { removeHost } from "../intake/remove-host.js";
import { setNovaMetadata } from "../intake/set-nova-metadata.js";
import { updateAggregate } from "../intake/update-aggregate.js";
import { listAggregates } from "../reads/list-aggregates.js";
import type { AggregateRecord } from "../model/records.js";
import { AggregateJson, aggregateView } from "./aggregate-view.js";
import { badRequest } from "./faults.js";
import type { Microversion } from "./microversion.js";
import { JsonText } from "./respond.js";
import type { AggregateAction } from "./request-shapes.js";

/** What a handler answers. */
export interface NovaReply {
  status: number;
  /** JSON body; none for an empty 200. */
  body?: unknown;
  headers?: Record<string, string>;
}

/** Response header naming the operation an add_host/remove_host started (see GetOperation over gRPC). */
export const operationIdHeader = "X-Operation-Id";

/** A path `{id}` as the domain's id: non-integers are 400 (bug 1865040), other checks are the domain's. */
export function aggregateIdFrom(raw: string): number {
  if (!/^\d{1,30}$/.test(raw)) throw badRequest(`Invalid aggregate id ${JSON.stringify(raw.slice(0, 40))}: it must be an integer.`);
  return idFrom(BigInt(raw));
}

/** The os-aggregates handlers of one controller. */
export class AggregateHandlers {
  /** The JSON of full aggregate bodies, per record object (shows and lists of a record the store hands out again reuse it). */
  private readonly bodies = new AggregateJson();

  constructor(private readonly ctx: IntakeContext) {}

  /**
   * GET /os-aggregates: every aggregate (the domain pages; Nova answers them all), optionally only
   * those of one zone (`?availability_zone=`, as the seed's design promised; Nova ignores it).
   */
  async list(v: Microversion, availabilityZone = ""): Promise<NovaReply> {
    const all: AggregateRecord[] = [];
    let pageToken = "";
    do {
      const page = await listAggregates(this.ctx.store, { availabilityZone, pageSize: 1000, pageToken });
      all.push(...page.aggregates);
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    return { status: 200, body: new JsonText(`{"aggregates":[${all.map((a) => this.bodies.text(a, v)).join(",")}]}`) };
  }

  /** `{"aggregate": …}`: the full body, or the brief one (no hosts, no metadata) a create answers. */
  private one(a: AggregateRecord, v: Microversion, brief = false): NovaReply {
    if (brief) return { status: 200, body: { aggregate: aggregateView(a, v, { brief }) } };
    return { status: 200, body: new JsonText(`{"aggregate":${this.bodies.text(a, v)}}`) };
  }

  /** POST /os-aggregates: 200 (not 201) with the aggregate minus hosts and metadata. */
  async create(v: Microversion, input: { name: string; availabilityZone?: string }): Promise<NovaReply> {
    return this.one(await createAggregate(this.ctx.store, input), v, true);
  }

  /** GET /os-aggregates/{id}. */
  async show(v: Microversion, id: number): Promise<NovaReply> {
    return this.one(await requireAggregate(this.ctx.store, id), v);
  }

  /** PUT /os-aggregates/{id}. */
  async update(v: Microversion, id: number, input: { name?: string; availabilityZone?: string }): Promise<NovaReply> {
    return this.one(await updateAggregate(this.ctx.store, { id, ...input }), v);
  }

  /** DELETE /os-aggregates/{id}: 200 with an empty body. */
  async delete(id: number): Promise<NovaReply> {
    await deleteAggregate(this.ctx.store, id);
    return { status: 200 };
  }

  /** POST /os-aggregates/{id}/action. */
  async action(v: Microversion, id: number, action: AggregateAction): Promise<NovaReply> {
    switch (action.action) {
      case "set_metadata":
        return this.one(await setNovaMetadata(this.ctx.store, id, action.metadata), v);
      case "add_host":
      case "remove_host":
        return this.changeHost(v, id, action.action, action.host);
    }
  }

  /** add_host / remove_host: answered once the operation is accepted, with the aggregate listing the new membership. */
  private async changeHost(v: Microversion, id: number, action: "add_host" | "remove_host", host: string): Promise<NovaReply> {
    const op = action === "add_host" ? await addHost(this.ctx, BigInt(id), host) : await removeHost(this.ctx, BigInt(id), host);
    return { ...this.one(await requireAggregate(this.ctx.store, op.aggregateId!), v), headers: { [operationIdHeader]: op.id } };
  }
}
