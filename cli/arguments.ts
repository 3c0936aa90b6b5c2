/** Numeric arguments checked before they are sent: a bad one is a usage error naming the argument. */
import { UsageError } from "./usage-error.js";

/** Largest value of a protobuf int32 field (counts, limits). */
export const maxInt32 = 2 ** 31 - 1;
/** Largest value of a protobuf int64 field (ids). */
export const maxInt64 = 2n ** 63n - 1n;

const digits = /^\d+$/;

/** True when a value is written only with digits (an id, unless an aggregate has it as its name). */
export const allDigits = (value: string): boolean => digits.test(value);

/** Parses a positive integer that fits an int32 field (e.g. --limit, --max-parallel). */
export function positiveInt(value: string, what: string): number {
  if (!digits.test(value) || Number(value) <= 0 || Number(value) > maxInt32) {
    throw new UsageError(`${what} must be a positive integer up to ${maxInt32} (got "${value}")`);
  }
  return Number(value);
}

/** Parses a positive id that fits an int64 field; `alternative` says what else the argument may be. */
export function positiveId(value: string, what: string, alternative = ""): bigint {
  const id = digits.test(value) ? BigInt(value) : 0n;
  if (id <= 0n || id > maxInt64) {
    throw new UsageError(`${what} must be a positive integer up to ${maxInt64}${alternative ? ` or ${alternative}` : ""} (got "${value}")`);
  }
  return id;
}
