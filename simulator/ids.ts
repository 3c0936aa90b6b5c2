/** XenAPI identifiers: fresh uuids, `OpaqueRef:<uuid>` references and the null reference. */
import { randomUUID } from "node:crypto";

/** The null reference XenAPI uses for "no object". */
export const NULL_REF = "OpaqueRef:NULL";

/** A fresh random UUID (lower-case, dashed). */
export function newUuid(): string {
  return randomUUID();
}

/** A fresh opaque reference, `OpaqueRef:<uuid>`, as XAPI issues them. */
export function newRef(): string {
  return `OpaqueRef:${randomUUID()}`;
}
