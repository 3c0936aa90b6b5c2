/** AggregateRecord → Nova's aggregate body (docs/os-aggregates.md §Endpoints). */
import type { AggregateRecord } from "../model/records.js";
import { atLeast, uuidMicroversion, type Microversion } from "./microversion.js";

/** A Nova aggregate body. */
export interface NovaAggregate {
  availability_zone: string | null;
  created_at: string;
  deleted: false;
  deleted_at: null;
  hosts?: string[];
  id: number;
  metadata?: Record<string, string>;
  name: string;
  updated_at: string | null;
  uuid?: string;
}

/** An ISO time as Nova writes it: no zone, microseconds ("2013-08-18T12:17:56.380226"). */
export function novaTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 19)}.${String(d.getUTCMilliseconds()).padStart(3, "0")}000`;
}

/**
 * The hosts Nova would list: the desired membership. Joining hosts are in; leaving hosts are out
 * while their removal runs, and back in once it failed (the aggregate is then in ERROR), as Nova's
 * undo re-added them.
 */
export function listedHosts(a: AggregateRecord): string[] {
  return a.members.filter((m) => m.state !== "LEAVING" || a.poolState === "ERROR").map((m) => m.host);
}

/** The metadata Nova shows: the user's keys plus `availability_zone` when the aggregate has a zone. */
export function listedMetadata(a: AggregateRecord): Record<string, string> {
  const entries = Object.entries(a.metadata);
  if (a.availabilityZone) entries.push(["availability_zone", a.availabilityZone]);
  entries.sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  return Object.fromEntries(entries);
}

/**
 * The body of one aggregate. `brief` is the create answer, which Nova sends without hosts and
 * metadata; `uuid` appears from microversion 2.41; `updated_at` is null until the first change.
 */
export function aggregateView(a: AggregateRecord, version: Microversion, options: { brief?: boolean } = {}): NovaAggregate {
  const body: NovaAggregate = {
    availability_zone: a.availabilityZone || null,
    created_at: novaTime(a.createdAt),
    deleted: false,
    deleted_at: null,
    id: a.id,
    name: a.name,
    updated_at: a.updatedAt === a.createdAt ? null : novaTime(a.updatedAt),
  };
  if (!options.brief) {
    body.hosts = listedHosts(a);
    body.metadata = listedMetadata(a);
  }
  if (atLeast(version, uuidMicroversion)) body.uuid = a.uuid;
  return body;
}

/**
 * The JSON text of full aggregate bodies, kept per record object: a record the store hands out
 * again (its read cache) is not converted and serialized again. Only full bodies (not brief).
 */
export class AggregateJson {
  readonly #texts = new WeakMap<AggregateRecord, { withUuid?: string; withoutUuid?: string }>();

  /** JSON.stringify(aggregateView(a, version)), reused for the same record object. */
  text(a: AggregateRecord, version: Microversion): string {
    const slot = atLeast(version, uuidMicroversion) ? "withUuid" : "withoutUuid";
    let entry = this.#texts.get(a);
    if (!entry) this.#texts.set(a, (entry = {}));
    return (entry[slot] ??= JSON.stringify(aggregateView(a, version)));
  }
}
