/**
 * Encoded Aggregate messages, kept per aggregate and reused while what the message is built from
 * is unchanged. The message is a pure function of the record and its headroom (aggregateMessage),
 * so their JSON is the key: it costs about a twentieth of building and encoding the message, and an
 * entry can never outlive a change, whoever wrote it (another replica included). When the store
 * hands out the very record object it handed out last time (its read cache), even that is skipped.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { AggregateSchema } from "../../gen/hostaggregates/v1/aggregate_pb.js";
import type { AggregateRecord } from "../model/records.js";
import { aggregateMessage } from "./convert.js";

/** An aggregate as the API shows it: the record and, when it has members, their maintenance headroom. */
export interface AggregateView {
  record: AggregateRecord;
  headroom?: number;
}

/** The message of a view. */
export function viewMessage(view: AggregateView): ReturnType<typeof aggregateMessage> {
  const message = aggregateMessage(view.record);
  if (view.headroom !== undefined) message.pool!.maintenanceHeadroom = view.headroom;
  return message;
}

/** The per-aggregate encodings of one process (bounded: cleared when it would hold more than `limit`). */
export class AggregateEncodings {
  readonly #entries = new Map<number, { record: AggregateRecord; headroom: number | undefined; key: string; bytes: Uint8Array }>();

  constructor(private readonly limit = 20_000) {}

  /** The protobuf bytes of the view's Aggregate message. */
  bytes(view: AggregateView): Uint8Array {
    const { record, headroom } = view;
    const hit = this.#entries.get(record.id);
    if (hit?.record === record && hit.headroom === headroom) return hit.bytes;
    const key = `${JSON.stringify(record)}|${headroom ?? ""}`;
    if (hit?.key === key) {
      hit.record = record;
      hit.headroom = headroom;
      return hit.bytes;
    }
    const bytes = toBinary(AggregateSchema, create(AggregateSchema, viewMessage(view)));
    if (!hit && this.#entries.size >= this.limit) this.#entries.clear();
    this.#entries.set(record.id, { record, headroom, key, bytes });
    return bytes;
  }

  /** How many aggregates have an encoding kept. */
  get size(): number {
    return this.#entries.size;
  }
}
