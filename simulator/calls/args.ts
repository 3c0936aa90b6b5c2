/** Typed readers of XML-RPC call parameters; a parameter of the wrong type is FIELD_TYPE_ERROR, as in xapi. */
import { fail } from "../xapi-error.js";
import type { RpcInput } from "../xmlrpc-codec.js";

/** A string parameter (refs, uuids, names). Numbers are stringified like ocaml-rpc does. */
export function argString(args: RpcInput[], index: number, name: string): string {
  const v = args[index];
  if (typeof v === "string") return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return fail("FIELD_TYPE_ERROR", name);
}

/** An optional string parameter with a default. */
export function argStringOr(args: RpcInput[], index: number, name: string, fallback: string): string {
  return args[index] === undefined ? fallback : argString(args, index, name);
}

/** A boolean parameter (also accepts "true"/"false"). */
export function argBool(args: RpcInput[], index: number, name: string, fallback?: boolean): boolean {
  const v = args[index];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v === "boolean") return v;
  if (v === "true") return true;
  if (v === "false") return false;
  return fail("FIELD_TYPE_ERROR", name);
}

/** An int parameter: `<int>`, `<i8>` or a decimal string. */
export function argInt(args: RpcInput[], index: number, name: string, fallback?: number): number {
  const v = args[index];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v === "number" && Number.isInteger(v)) return v;
  if (typeof v === "string" && /^-?\d{1,15}$/.test(v.trim())) return Number(v.trim());
  return fail("FIELD_TYPE_ERROR", name);
}

/** A `(string -> string) map` parameter. */
export function argStringMap(args: RpcInput[], index: number, name: string): Record<string, string> {
  const v = args[index];
  if (v === null || typeof v !== "object" || Array.isArray(v) || v instanceof Date || Buffer.isBuffer(v)) {
    return fail("FIELD_TYPE_ERROR", name);
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(v as Record<string, unknown>)) {
    if (typeof value === "string") out[key] = value;
    else if (typeof value === "number" || typeof value === "boolean") out[key] = String(value);
    else return fail("FIELD_TYPE_ERROR", name);
  }
  return out;
}
