/** Opaque page tokens that remember the position and the filter they were issued for. */
import { invalidArgument } from "../../shared/errors.js";

/** Encodes a position and filter into a page token. */
export function encodePageToken(position: string | number, filter: string): string {
  return Buffer.from(JSON.stringify({ p: position, f: filter }), "utf8").toString("base64url");
}

/** Decodes a page token; INVALID_ARGUMENT when malformed or issued for another filter. */
export function decodePageToken<T extends string | number>(token: string, filter: string, kind: "string" | "number"): T | undefined {
  if (token === "") return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { p?: unknown; f?: unknown };
    if (typeof parsed.p === kind && parsed.f === filter) return parsed.p as T;
  } catch {
    // fall through
  }
  throw invalidArgument([{ field: "page_token", description: "page_token is invalid or was issued for a different filter" }]);
}

/** The page size to use: the default for 0. */
export function effectivePageSize(requested: number, defaultSize = 100): number {
  return requested === 0 ? defaultSize : requested;
}

/** A page request: size (0 = default), token, and the filter the token must have been issued for. */
export interface PageRequest {
  pageSize: number;
  pageToken: string;
  filter: string;
}

/**
 * One page: asks `fetch` for one more item than the page holds, so it knows whether another page
 * follows, and issues that page's token from the last item's position.
 */
export async function pageOf<T, P extends string | number>(
  request: PageRequest,
  kind: P extends number ? "number" : "string",
  fetch: (after: P | undefined, limit: number) => Promise<T[]>,
  positionOf: (item: T) => P,
): Promise<{ items: T[]; nextPageToken: string }> {
  const after = decodePageToken<P>(request.pageToken, request.filter, kind);
  const limit = effectivePageSize(request.pageSize);
  const fetched = await fetch(after, limit + 1);
  const more = fetched.length > limit;
  const items = more ? fetched.slice(0, limit) : fetched;
  return { items, nextPageToken: more ? encodePageToken(positionOf(items.at(-1)!), request.filter) : "" };
}
