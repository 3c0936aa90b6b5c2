/** XML-RPC values as XenAPI uses them, with a guard against values xmlrpc would silently mangle. */

/** A value that can be sent to XAPI. */
export type XapiParam = string | number | boolean | null | Date | readonly XapiParam[] | { readonly [key: string]: XapiParam };

/** A value decoded from an XAPI reply (ints arrive as decimal strings). */
export type XapiValue = string | number | boolean | null | Date | Buffer | XapiValue[] | { [key: string]: XapiValue };

/**
 * Throws a TypeError naming the position when a parameter cannot be sent faithfully:
 * xmlrpc serializes bigint and undefined as an empty value (silent data loss), and
 * non-finite numbers as invalid ints. Never includes the value itself in the message.
 */
export function assertSendable(value: unknown, path = "param"): asserts value is XapiParam {
  switch (typeof value) {
    case "string":
    case "boolean":
      return;
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`${path}: non-finite number cannot be sent to XAPI`);
      return;
    case "bigint":
      throw new TypeError(`${path}: bigint cannot be sent to XAPI (xmlrpc would send ""); convert with String()`);
    case "undefined":
      throw new TypeError(`${path}: undefined cannot be sent to XAPI (xmlrpc would send "")`);
    case "object":
      if (value === null || value instanceof Date) return;
      if (Array.isArray(value)) {
        value.forEach((v, i) => assertSendable(v, `${path}[${i}]`));
        return;
      }
      if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) {
        throw new TypeError(`${path}: only plain objects can be sent to XAPI`);
      }
      for (const [k, v] of Object.entries(value)) assertSendable(v, `${path}.${k}`);
      return;
    default:
      throw new TypeError(`${path}: a ${typeof value} cannot be sent to XAPI`);
  }
}

/** A string field (refs, uuids, enums, ints-as-strings); "" when absent. */
export function str(value: XapiValue | undefined): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return "";
}

/** A boolean field; accepts XML-RPC booleans and "true"/"1" strings. */
export function bool(value: XapiValue | undefined): boolean {
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return value !== 0;
  if (typeof value === "string") return value === "true" || value === "1";
  return false;
}

/** An int64 field (XAPI sends decimal strings); 0n when absent or malformed. */
export function int64(value: XapiValue | undefined): bigint {
  if (typeof value === "number" && Number.isFinite(value)) return BigInt(Math.trunc(value));
  if (typeof value === "string" && /^-?\d+$/.test(value.trim())) return BigInt(value.trim());
  return 0n;
}

/** A float field (e.g. task progress); 0 when absent or malformed. */
export function float(value: XapiValue | undefined): number {
  const n = typeof value === "number" ? value : typeof value === "string" ? Number(value) : NaN;
  return Number.isFinite(n) ? n : 0;
}

/** A struct field (records, maps); {} when absent or not a struct. */
export function struct(value: XapiValue | undefined): { [key: string]: XapiValue } {
  if (value && typeof value === "object" && !Array.isArray(value) && !(value instanceof Date) && !Buffer.isBuffer(value)) {
    return value;
  }
  return {};
}

/** An array field; [] when absent. */
export function list(value: XapiValue | undefined): XapiValue[] {
  return Array.isArray(value) ? value : [];
}

/** An array of strings (refs, error descriptions). */
export function strings(value: XapiValue | undefined): string[] {
  return list(value).map((v) => str(v));
}

/** The null reference. */
export const nullRef = "OpaqueRef:NULL";

/** True for a real (non-null, non-empty) reference. */
export function isRef(value: string): boolean {
  return value !== "" && value !== nullRef;
}
