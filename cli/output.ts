/** Rendering of aggctl output: aligned tables for people, JSON for machines. */
import { toJson, type DescMessage, type MessageShape } from "@bufbuild/protobuf";

/** Formats rows as an aligned table with a header line. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** Formats key/value pairs as two aligned columns. */
export function details(pairs: [string, string][]): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n");
}

/** A message as pretty JSON (protobuf JSON mapping). */
export function json<D extends DescMessage>(schema: D, message: MessageShape<D>): string {
  return JSON.stringify(toJson(schema, message), null, 2);
}

/** Messages as a pretty JSON array (protobuf JSON mapping). */
export function jsonList<D extends DescMessage>(schema: D, messages: MessageShape<D>[]): string {
  return JSON.stringify(messages.map((m) => toJson(schema, m)), null, 2);
}

/** A message as one line of JSON (for JSON Lines streams). */
export function jsonLine<D extends DescMessage>(schema: D, message: MessageShape<D>): string {
  return JSON.stringify(toJson(schema, message));
}

/** Removes the type prefix of an enum name, e.g. POOL_STATE_ACTIVE → ACTIVE. */
export function enumLabel(e: Record<number, string>, value: number): string {
  return e[value] ?? String(value);
}

/** A timestamp-like value as an ISO string ("-" when absent). */
export function time(ts: { seconds: bigint; nanos: number } | undefined): string {
  if (!ts) return "-";
  return new Date(Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6)).toISOString();
}

/** Bytes as MiB/GiB for people. */
export function bytes(n: bigint | number): string {
  const v = Number(n);
  if (v >= 1024 ** 3) return `${(v / 1024 ** 3).toFixed(1)} GiB`;
  return `${Math.round(v / 1024 ** 2)} MiB`;
}
