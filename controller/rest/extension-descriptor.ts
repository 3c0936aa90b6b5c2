/** The os-aggregates extension as Nova Essex's `contrib/aggregates.py` describes it, in the extensions API's shapes. */
import { itemNotFound } from "./faults.js";

/** The one extension this API serves. */
export const aggregatesExtension = {
  name: "Aggregates",
  alias: "os-aggregates",
  description: "Admin-only aggregate administration",
  namespace: "http://docs.openstack.org/compute/ext/aggregates/api/v1.1",
  updated: "2012-01-12T00:00:00+00:00",
  links: [] as string[],
} as const;

/** `GET …/extensions`: `{"extensions": [...]}`. */
export function extensionList(): unknown {
  return { extensions: [aggregatesExtension] };
}

/** `GET …/extensions/{alias}`: `{"extension": {...}}`, or 404 for another alias. */
export function extensionShow(alias: string): unknown {
  if (alias !== aggregatesExtension.alias) throw itemNotFound(`Extension ${alias} could not be found.`);
  return { extension: aggregatesExtension };
}
