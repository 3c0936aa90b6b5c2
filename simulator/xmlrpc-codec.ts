/**
 * XML-RPC as xapi's ocaml-rpc writes it: the value types, serialisation, XenAPI datetimes and the
 * reply envelopes; request bodies are parsed by xmlrpc-parser.ts (docs/xenapi-notes.md §Wire format).
 */
import { parseMethodCallText } from "./xmlrpc-parser.js";

/** A float; plain JS numbers are always emitted as XenAPI ints (decimal strings). */
export class XDouble {
  constructor(readonly value: number) {}
}

/** A value the simulator can send: XenAPI's types as ocaml-rpc emits them. */
export type XapiValue =
  | string
  | number
  | bigint
  | boolean
  | Date
  | XDouble
  | readonly XapiValue[]
  | { readonly [key: string]: XapiValue };

/** A decoded incoming XML-RPC value (lenient, like ocaml-rpc). */
export type RpcInput = unknown;

/** A decoded `<methodCall>`. */
export interface MethodCall {
  method: string;
  params: RpcInput[];
}

/**
 * Parses an XML-RPC request body. Accepts `<int>/<i4>/<i8>`, `<string>`,
 * untyped values, `<boolean>`, `<double>`, `<struct>`, `<array>`, `<nil/>` and
 * whitespace between tags. Rejects anything else (the caller answers HTTP 500).
 */
export function parseMethodCall(body: Buffer): MethodCall {
  const text = body.toString("utf8");
  return parseMethodCallText(text);
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;" };
const NEEDS_ESCAPE = /[&<>"\r]/;

/** Escapes text for XML element content. */
export function escapeXml(text: string): string {
  if (!NEEDS_ESCAPE.test(text)) return text;
  return text.replace(/[&<>"\r]/g, (c) => ESCAPES[c] ?? c);
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/** XenAPI's datetime form: `YYYYMMDDTHH:MM:SSZ` (UTC, basic date). */
export function formatXapiDate(date: Date): string {
  const t = Number.isNaN(date.getTime()) ? new Date(0) : date;
  return (
    `${pad(t.getUTCFullYear(), 4)}${pad(t.getUTCMonth() + 1)}${pad(t.getUTCDate())}` +
    `T${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}Z`
  );
}

function formatDouble(value: number): string {
  if (!Number.isFinite(value)) return "0";
  return String(Number(value.toPrecision(16)));
}

function writeValue(value: XapiValue): string {
  if (typeof value === "string") return `<value>${escapeXml(value)}</value>`;
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new TypeError(`non-integer number ${value}: wrap floats in XDouble`);
    return `<value>${value}</value>`;
  }
  if (typeof value === "bigint") return `<value>${value.toString()}</value>`;
  if (typeof value === "boolean") return value ? "<value><boolean>1</boolean></value>" : "<value><boolean>0</boolean></value>";
  if (value instanceof XDouble) return `<value><double>${formatDouble(value.value)}</double></value>`;
  if (value instanceof Date) return `<value><dateTime.iso8601>${formatXapiDate(value)}</dateTime.iso8601></value>`;
  if (Array.isArray(value)) {
    let out = "<value><array><data>";
    for (const item of value as readonly XapiValue[]) out += writeValue(item);
    return `${out}</data></array></value>`;
  }
  if (value !== null && typeof value === "object") {
    let out = "<value><struct>";
    for (const [key, item] of Object.entries(value as { readonly [key: string]: XapiValue })) {
      if (item === undefined) throw new TypeError(`undefined struct member ${key}`);
      out += `<member><name>${escapeXml(key)}</name>${writeValue(item)}</member>`;
    }
    return `${out}</struct></value>`;
  }
  throw new TypeError(`cannot serialise ${String(value)}`);
}

/** Serialises one value as ocaml-rpc does (`<value>…</value>`). */
export function serializeValue(value: XapiValue): string {
  return writeValue(value);
}

/** A complete `<methodResponse>` carrying one value. */
export function serializeResponse(value: XapiValue): string {
  return `<?xml version="1.0"?><methodResponse><params><param>${serializeValue(value)}</param></params></methodResponse>`;
}

/** The `{Status: "Success", Value}` envelope. */
export function successResponse(value: XapiValue): XapiValue {
  return { Status: "Success", Value: value };
}

/** The `{Status: "Failure", ErrorDescription}` envelope. */
export function failureResponse(description: readonly string[]): XapiValue {
  return { Status: "Failure", ErrorDescription: description.map(String) };
}
