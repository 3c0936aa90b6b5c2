/**
 * Encoded Aggregate messages, kept per aggregate and reused while what the message is built from
 * is unchanged. The message is a pure function of the record, its headroom and its lease's holder
 * and epoch (aggregateMessage), so their JSON is the key: it costs about a twentieth of building and encoding the message, and an
 * entry can never outlive a change, whoever wrote it (another replica included). When the store
 * hands out the very record object it handed out last time (its read cache), even that is skipped.
 * The JSON text (for Connect/JSON clients) is made the first time one asks, and kept beside the bytes.
 */
import { create, toBinary, toJsonString } from "@bufbuild/protobuf";
import { AggregateSchema } from "../../gen/hostaggregates/v1/aggregate_pb.js";
import type { AggregateRecord } from "../model/records.js";
import type { Lease } from "../store/store.js";
import { aggregateMessage } from "./convert.js";

/** An aggregate as the API shows it: the record, its current lease and, when it has members, their maintenance headroom. */
export interface AggregateView {
  record: AggregateRecord;
  headroom?: number;
  /** Who holds the aggregate's lease now (the message shows its holder and epoch, not its expiry). */
  lease?: Lease;
}

/** The message of a view. */
export function viewMessage(view: AggregateView): ReturnType<typeof aggregateMessage> {
  const message = aggregateMessage(view.record, view.lease);
  if (view.headroom !== undefined) message.pool!.maintenanceHeadroom = view.headroom;
  return message;
}

/** One aggregate's kept encodings and what they were made from. */
interface Entry {
  record: AggregateRecord;
  extras: string;
  key: string;
  bytes: Uint8Array;
  json?: string;
}

/** The per-aggregate encodings of one process (bounded: cleared when it would hold more than `limit`). */
export class AggregateEncodings {
  readonly #entries = new Map<number, Entry>();

  constructor(private readonly limit = 20_000) {}

  /** The protobuf bytes of the view's Aggregate message. */
  bytes(view: AggregateView): Uint8Array {
    return this.entry(view).bytes;
  }

  /** The canonical JSON text of the view's Aggregate message (as toJsonString writes it). */
  json(view: AggregateView): string {
    const entry = this.entry(view);
    return (entry.json ??= toJsonString(AggregateSchema, create(AggregateSchema, viewMessage(view))));
  }

  private entry(view: AggregateView): Entry {
    const { record } = view;
    // What the message shows besides the record: the headroom, and the lease's holder and epoch.
    const extras = `${view.headroom ?? ""}|${view.lease ? `${view.lease.holder}|${view.lease.epoch}` : ""}`;
    const hit = this.#entries.get(record.id);
    if (hit?.record === record && hit.extras === extras) return hit;
    const key = `${JSON.stringify(record)}|${extras}`;
    if (hit?.key === key) {
      hit.record = record;
      hit.extras = extras;
      return hit;
    }
    const entry: Entry = { record, extras, key, bytes: toBinary(AggregateSchema, create(AggregateSchema, viewMessage(view))) };
    if (!hit && this.#entries.size >= this.limit) this.#entries.clear();
    this.#entries.set(record.id, entry);
    return entry;
  }

  /** How many aggregates have an encoding kept. */
  get size(): number {
    return this.#entries.size;
  }
}
