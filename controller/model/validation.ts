/** Field validation rules (docs/os-aggregates.md §Outcomes shared with the gRPC API). Each returns a violation or undefined. */
import type { FieldViolation } from "../../shared/errors.js";

/** Longest name, zone, metadata key or value. */
export const maxFieldLength = 255;
/** Most metadata keys one aggregate may hold. */
export const maxMetadataKeys = 1000;
/** Metadata keys reserved for fields of their own. */
export const reservedMetadataKeys = new Set(["availability_zone"]);

const metadataKeyPattern = /^[a-zA-Z0-9\-_:. ]{1,255}$/;
const hostNamePattern = /^[a-zA-Z0-9\-._]{1,255}$/;
// Not printable: control, format, surrogate, private-use and unassigned characters, and separators other than space.
const unprintable = /[\p{C}\p{Zl}\p{Zp}]|(?! )\p{Zs}/u;

const length = (s: string) => [...s].length;

/** A printable, trimmed string of 1–255 characters (aggregate names and zones). */
function printableName(field: string, value: string, what: string): FieldViolation | undefined {
  if (value.length === 0) return { field, description: `${what} must not be empty` };
  if (length(value) > maxFieldLength) return { field, description: `${what} must be at most ${maxFieldLength} characters (got ${length(value)})` };
  if (unprintable.test(value)) return { field, description: `${what} must contain only printable characters` };
  if (value.trim() !== value) return { field, description: `${what} must not have leading or trailing blanks` };
  return undefined;
}

/** Aggregate name: 1–255 printable characters, no surrounding blanks. */
export function checkAggregateName(value: string, field = "name"): FieldViolation | undefined {
  return printableName(field, value, "name");
}

/** Availability zone: 1–255 printable characters, no surrounding blanks, no ':'. */
export function checkAvailabilityZone(value: string, field = "availability_zone"): FieldViolation | undefined {
  const v = printableName(field, value, "availability zone");
  if (v) return v;
  if (value.includes(":")) return { field, description: "availability zone must not contain ':'" };
  return undefined;
}

/** An agent's capacity report: byte counts within what a record holds exactly (0 … 2^53 − 1), no negative VM count, a vendor of at most 255 characters. */
export function checkCapacity(c: { memoryTotalBytes: bigint; memoryFreeBytes: bigint; runningVms: number; cpuVendor: string } | undefined, field = "capacity"): FieldViolation | undefined {
  if (!c) return undefined;
  const limit = BigInt(Number.MAX_SAFE_INTEGER);
  for (const [name, value] of [["memory_total_bytes", c.memoryTotalBytes], ["memory_free_bytes", c.memoryFreeBytes]] as const) {
    if (value < 0n || value > limit) return { field: `${field}.${name}`, description: `${name} must be 0 … ${limit} (got ${value})` };
  }
  if (c.runningVms < 0) return { field: `${field}.running_vms`, description: `running_vms must not be negative (got ${c.runningVms})` };
  if (length(c.cpuVendor) > maxFieldLength) return { field: `${field}.cpu_vendor`, description: `cpu_vendor must be at most ${maxFieldLength} characters` };
  return undefined;
}

/** Host name: ^[a-zA-Z0-9-._]{1,255}$. */
export function checkHostName(value: string, field = "host"): FieldViolation | undefined {
  if (value.length === 0) return { field, description: "host name is required" };
  if (!hostNamePattern.test(value)) {
    return { field, description: `host name must match ^[a-zA-Z0-9-._]{1,255}$ (got "${truncate(value)}")` };
  }
  return undefined;
}

/** Metadata key: ^[a-zA-Z0-9-_:. ]{1,255}$, not reserved. */
export function checkMetadataKey(key: string, field: string): FieldViolation | undefined {
  if (!metadataKeyPattern.test(key)) {
    return { field, description: `metadata key must match ^[a-zA-Z0-9-_:. ]{1,255}$ (got "${truncate(key)}")` };
  }
  if (reservedMetadataKeys.has(key.toLowerCase())) {
    return { field, description: `metadata key "${key}" is reserved; use UpdateAggregate to change the availability zone` };
  }
  return undefined;
}

/** Metadata value: at most 255 characters. */
export function checkMetadataValue(value: string, field: string): FieldViolation | undefined {
  if (length(value) > maxFieldLength) return { field, description: `metadata value must be at most ${maxFieldLength} characters (got ${length(value)})` };
  return undefined;
}

/** A required positive id. */
export function checkId(value: bigint, field = "id"): FieldViolation | undefined {
  if (value <= 0n) return { field, description: value === 0n ? "id is required" : "id must be a positive integer" };
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) return { field, description: "id is out of range" };
  return undefined;
}

/** page_size: 0 (default) to 1000. */
export function checkPageSize(value: number, field = "page_size"): FieldViolation | undefined {
  if (value < 0) return { field, description: "page_size must not be negative" };
  if (value > 1000) return { field, description: "page_size must be at most 1000" };
  return undefined;
}

/** Collects the violations that are defined. */
export function violations(...checks: (FieldViolation | undefined)[]): FieldViolation[] {
  return checks.filter((v): v is FieldViolation => v !== undefined);
}

function truncate(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
