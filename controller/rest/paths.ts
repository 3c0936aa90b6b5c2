/**
 * Path matching for the os-aggregates REST API: which API (v1.1 or v2.1), which tenant, which
 * resource. Paths that are not ours (e.g. Connect's `/package.Service/Method`) match nothing.
 */

/** The API generation a path belongs to: Essex's `/v1.1/{tenant}` or the microversioned `/v2.1[/{tenant}]`. */
export type ApiGeneration = "v1.1" | "v2.1";

/** What a request path addresses. */
export type NovaTarget =
  | { kind: "versions" }
  | { kind: "version"; api: "v2.1" }
  | { kind: "extensions"; api: ApiGeneration; alias?: string }
  | { kind: "aggregates"; api: ApiGeneration }
  | { kind: "aggregate"; api: ApiGeneration; id: string }
  | { kind: "aggregate-action"; api: ApiGeneration; id: string }
  /** Under one of our prefixes, but nothing we serve: 404 after authentication. */
  | { kind: "unknown"; api: ApiGeneration };

/** Splits a path into decoded segments; undefined when a segment cannot be decoded. */
function segmentsOf(pathname: string): string[] | undefined {
  const trimmed = pathname.length > 1 && pathname.endsWith("/") ? pathname.slice(0, -1) : pathname;
  try {
    return trimmed.split("/").slice(1).map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
}

/** The resource part after the API prefix (and tenant). */
function resourceTarget(api: ApiGeneration, rest: string[]): NovaTarget {
  const [resource, id, action, ...more] = rest;
  if (resource === "extensions") {
    if (rest.length === 1) return { kind: "extensions", api };
    if (rest.length === 2) return { kind: "extensions", api, alias: id! };
  }
  if (resource === "os-aggregates" && more.length === 0) {
    if (id === undefined) return { kind: "aggregates", api };
    if (action === undefined) return { kind: "aggregate", api, id };
    if (action === "action") return { kind: "aggregate-action", api, id };
  }
  return { kind: "unknown", api };
}

/** The target of a request path, or undefined when the path is not part of this API. */
export function matchNovaPath(pathname: string): NovaTarget | undefined {
  if (pathname === "/") return { kind: "versions" };
  const segments = segmentsOf(pathname);
  if (!segments) return pathname.startsWith("/v1.1/") || pathname.startsWith("/v2.1/") ? { kind: "unknown", api: "v2.1" } : undefined;
  const [prefix, ...rest] = segments;
  if (prefix === "v2.1") {
    if (rest.length === 0) return { kind: "version", api: "v2.1" };
    // `/v2.1/os-aggregates…` and `/v2.1/extensions…` have no tenant; anything else before them is one.
    if (rest[0] === "os-aggregates" || rest[0] === "extensions") return resourceTarget("v2.1", rest);
    return rest.length > 1 ? resourceTarget("v2.1", rest.slice(1)) : { kind: "unknown", api: "v2.1" };
  }
  if (prefix === "v1.1") {
    // Essex always had the tenant in the path: /v1.1/{tenant}/os-aggregates.
    return rest.length > 1 ? resourceTarget("v1.1", rest.slice(1)) : { kind: "unknown", api: "v1.1" };
  }
  return undefined;
}
