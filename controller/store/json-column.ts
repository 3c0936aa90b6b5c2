/** Helpers for columns that hold JSON. */

/** Parses a JSON column, with a fallback for NULL. */
export function parseJson<T>(text: string | null | undefined, fallback: T): T {
  return text === null || text === undefined ? fallback : (JSON.parse(text) as T);
}

/** Serializes a value for a JSON column (NULL for null/undefined). */
export function toJson(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}
