/**
 * Answers a handler encoded itself (from encodings it keeps), which the gRPC adapter sends as they
 * are instead of building and encoding a message per call. A repeated message field is the
 * concatenation of its length-delimited entries, so a list answer is built from the encodings of
 * its items without decoding them.
 */
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

/** Protobuf bytes of the method's output message, sent as is on gRPC. */
export class EncodedMessage {
  constructor(readonly bytes: Uint8Array) {}

  /** Typed as the handler's answer: only the gRPC adapter ever receives it (see servedAsBytes). */
  as<T>(): T {
    return this as unknown as T;
  }
}

/** True when a handler may answer with EncodedMessage: the call is served by the gRPC adapter. */
export function servedAsBytes(ctx: { protocolName: string }): boolean {
  return ctx.protocolName === "grpc";
}

/** The bytes of a message whose field `field` repeats `entries` (each an encoded message) and, if any, string fields after it. */
export function repeatedMessageField(field: number, entries: readonly Uint8Array[], strings: ReadonlyArray<readonly [number, string]> = []): Uint8Array {
  const writer = new BinaryWriter();
  for (const entry of entries) writer.tag(field, WireType.LengthDelimited).bytes(entry);
  for (const [number, value] of strings) if (value !== "") writer.tag(number, WireType.LengthDelimited).string(value);
  return writer.finish();
}
