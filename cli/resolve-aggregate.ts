/** Accepts an aggregate by id or by name, as Nova's client does. */
import { Code, ConnectError } from "@connectrpc/connect";
import type { ApiClients } from "./api-clients.js";

/** The id of the aggregate given as an id or a name. */
export async function resolveAggregateId(api: ApiClients, idOrName: string): Promise<bigint> {
  if (/^\d+$/.test(idOrName)) return BigInt(idOrName);
  let pageToken = "";
  do {
    const page = await api.aggregates.listAggregates({ pageSize: 1000, pageToken });
    const hit = page.aggregates.find((a) => a.name === idOrName);
    if (hit) return hit.id;
    pageToken = page.nextPageToken;
  } while (pageToken);
  throw new ConnectError(`no aggregate with id or name "${idOrName}"`, Code.NotFound);
}
