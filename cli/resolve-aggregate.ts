/**
 * Accepts an aggregate by name or by id. A name wins: the API accepts any printable name, digits
 * only included (as Nova does), so "42" is the aggregate named "42" when there is one, else id 42.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { Aggregate } from "../gen/hostaggregates/v1/aggregate_pb.js";
import { allDigits, maxInt64, positiveId } from "./arguments.js";
import type { CommandIo } from "./command.js";

async function byName(io: CommandIo, name: string): Promise<Aggregate | undefined> {
  let pageToken = "";
  do {
    const page = await io.api().aggregates.listAggregates({ pageSize: 1000, pageToken });
    const hit = page.aggregates.find((a) => a.name === name);
    if (hit) return hit;
    pageToken = page.nextPageToken;
  } while (pageToken);
  return undefined;
}

/** The other aggregate whose id an all-digit name `hit` hides, if there is one. */
async function shadowedBy(io: CommandIo, hit: Aggregate): Promise<Aggregate | undefined> {
  const id = BigInt(hit.name);
  if (id === hit.id || id <= 0n || id > maxInt64) return undefined;
  try {
    return await io.api().aggregates.getAggregate({ id });
  } catch (err) {
    // NOT_FOUND, or INVALID_ARGUMENT for an id beyond the API's range (2^53 − 1): no aggregate has it.
    if (err instanceof ConnectError && (err.code === Code.NotFound || err.code === Code.InvalidArgument)) return undefined;
    throw err;
  }
}

/**
 * The id of the aggregate given as `idOrName` (the argument `what`, e.g. "ID" or "--aggregate"): the
 * aggregate of that name, else the id it is. An unknown name is NOT_FOUND; digits that name no aggregate
 * must be a positive int64 (else a usage error). When the name hides another aggregate's id, a note says which was taken.
 */
export async function resolveAggregateId(io: CommandIo, idOrName: string, what = "ID"): Promise<bigint> {
  const hit = await byName(io, idOrName);
  if (hit) {
    const other = allDigits(idOrName) ? await shadowedBy(io, hit) : undefined;
    if (other) io.note(`"${idOrName}" is the name of aggregate ${hit.id}, taken instead of aggregate ${other.id} ("${other.name}"); give that one by its name`);
    return hit.id;
  }
  if (!allDigits(idOrName)) throw new ConnectError(`no aggregate with id or name "${idOrName}"`, Code.NotFound);
  return positiveId(idOrName, what, "the name of an aggregate");
}

/** The aggregate id of an optional --aggregate filter, given by name or id (0n when absent). */
export async function aggregateFilter(io: CommandIo, value: string | undefined): Promise<bigint> {
  return value === undefined ? 0n : resolveAggregateId(io, value, "--aggregate");
}
