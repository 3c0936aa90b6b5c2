/**
 * Answers a handler encoded itself (from encodings it keeps), sent as they are instead of being
 * built and encoded per call, on every protocol: the gRPC adapter and connect-node (Connect binary
 * and JSON, gRPC-Web; a patch in patches/ teaches its serializers) look for the encodings under
 * `preEncodedKey` on the answer. The answer itself is an empty message of the method's output type,
 * so whatever else handles it (interceptors) sees a well-formed message.
 *
 * A repeated message field is the concatenation of its length-delimited entries, and in JSON the
 * array of their JSON texts, so a list answer is built from the encodings of its items without
 * decoding them.
 */
import { create, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

/** Where an answer carries its encodings (also read, under the same registered symbol, by the connect-node patch). */
export const preEncodedKey: unique symbol = Symbol.for("hostaggregates.preEncoded") as never;

/** The encodings of one answer: protobuf bytes, and canonical JSON as connect-node writes it (compact UTF-8). */
export interface PreEncoded {
  binary(): Uint8Array;
  json(): Uint8Array;
}

const utf8 = new TextEncoder();

/** Encodings from protobuf bytes and a JSON text made only when a JSON client asks. */
export function preEncoded(bytes: Uint8Array, jsonText: () => string): PreEncoded {
  let json: Uint8Array | undefined;
  return { binary: () => bytes, json: () => (json ??= utf8.encode(jsonText())) };
}

/** An answer of `schema` sent as `encoded`. */
export function encodedAnswer<S extends DescMessage>(schema: S, encoded: PreEncoded): MessageShape<S> {
  return Object.assign(create(schema), { [preEncodedKey]: encoded });
}

/** The encodings an answer carries, if any. */
export function encodingsOf(answer: unknown): PreEncoded | undefined {
  return answer !== null && typeof answer === "object" ? (answer as { [preEncodedKey]?: PreEncoded })[preEncodedKey] : undefined;
}

/** The bytes of a message whose field `field` repeats `entries` (each an encoded message) and, if any, string fields after it. */
export function repeatedMessageField(field: number, entries: readonly Uint8Array[], strings: ReadonlyArray<readonly [number, string]> = []): Uint8Array {
  const writer = new BinaryWriter();
  for (const entry of entries) writer.tag(field, WireType.LengthDelimited).bytes(entry);
  for (const [number, value] of strings) if (value !== "") writer.tag(number, WireType.LengthDelimited).string(value);
  return writer.finish();
}

/**
 * The canonical JSON of the same message: `entries` (each a message's JSON text) under the JSON name
 * `field`, then the string fields; empty ones are left out, as proto3 JSON leaves out defaults.
 */
export function repeatedMessageJson(field: string, entries: readonly string[], strings: ReadonlyArray<readonly [string, string]> = []): string {
  const parts: string[] = [];
  if (entries.length > 0) parts.push(`${JSON.stringify(field)}:[${entries.join(",")}]`);
  for (const [name, value] of strings) if (value !== "") parts.push(`${JSON.stringify(name)}:${JSON.stringify(value)}`);
  return `{${parts.join(",")}}`;
}
