/**
 * Compute API microversions (`OpenStack-API-Version: compute 2.X`, legacy `X-OpenStack-Nova-API-Version: 2.X`):
 * negotiation and the headers Nova echoes on every v2.1 response.
 */
import type { IncomingHttpHeaders } from "node:http";
import { NovaFault } from "./faults.js";

/** A microversion 2.N. */
export interface Microversion {
  major: number;
  minor: number;
}

/** The oldest microversion served (the v2.1 base). */
export const minMicroversion: Microversion = { major: 2, minor: 1 };
/**
 * The newest microversion served: 2.41 adds `uuid` to aggregates; nothing after it changes
 * os-aggregates until 2.81 (image pre-caching), which we do not serve. Debian's novaclient
 * (18.1, max 2.92) and openstacksdk (aggregates up to 2.81) both settle on it.
 */
export const maxMicroversion: Microversion = { major: 2, minor: 41 };
/** The microversion from which aggregate bodies carry `uuid`. */
export const uuidMicroversion: Microversion = { major: 2, minor: 41 };

/** "2.41". */
export const formatMicroversion = (v: Microversion) => `${v.major}.${v.minor}`;

/** Orders two microversions (negative when a < b). */
export const compareMicroversions = (a: Microversion, b: Microversion) => a.major - b.major || a.minor - b.minor;

/** True when `v` is at least `floor`. */
export const atLeast = (v: Microversion, floor: Microversion) => compareMicroversions(v, floor) >= 0;

const versionPattern = /^([1-9]\d{0,5})\.([1-9]\d{0,5}|0)$/;

/** The compute entry of `OpenStack-API-Version` (which may list several services), if any. */
function computeEntry(header: string | string[] | undefined): string | undefined {
  const values = Array.isArray(header) ? header : header !== undefined ? [header] : [];
  for (const entry of values.flatMap((v) => v.split(","))) {
    const [service, version, ...extra] = entry.trim().split(/\s+/);
    if (service?.toLowerCase() === "compute" && extra.length === 0) return version ?? "";
  }
  return undefined;
}

/** The microversion a request asks for: 2.1 when it names none; "latest" is the newest. 400/406 like Nova. */
export function negotiateMicroversion(headers: IncomingHttpHeaders): Microversion {
  const legacy = headers["x-openstack-nova-api-version"];
  const requested = computeEntry(headers["openstack-api-version"]) ?? (Array.isArray(legacy) ? legacy[0] : legacy)?.trim();
  if (requested === undefined) return minMicroversion;
  if (requested.toLowerCase() === "latest") return maxMicroversion;
  const match = versionPattern.exec(requested);
  if (!match) {
    throw new NovaFault(400, `API Version String ${requested} is of invalid format. Must be of format MajorNum.MinorNum.`);
  }
  const version = { major: Number(match[1]), minor: Number(match[2]) };
  if (compareMicroversions(version, minMicroversion) < 0 || compareMicroversions(version, maxMicroversion) > 0) {
    throw new NovaFault(
      406,
      `Version ${requested} is not supported by the API. Minimum is ${formatMicroversion(minMicroversion)} and maximum is ${formatMicroversion(maxMicroversion)}.`,
    );
  }
  return version;
}

/** The headers Nova sends with every microversioned response. */
export function microversionHeaders(v: Microversion): Record<string, string> {
  return {
    "OpenStack-API-Version": `compute ${formatMicroversion(v)}`,
    "X-OpenStack-Nova-API-Version": formatMicroversion(v),
    Vary: "OpenStack-API-Version, X-OpenStack-Nova-API-Version",
  };
}
