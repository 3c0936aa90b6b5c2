/**
 * The wire shapes of os-aggregates requests (Nova's JSON schemas, docs/os-aggregates.md §Request shapes): which keys,
 * which JSON types. Only the shape is checked here; the field rules (lengths, patterns, printable
 * characters) are the domain's, shared with the gRPC API.
 */
import { badRequest } from "./faults.js";

type JsonObject = Record<string, unknown>;

const isObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);
const typeName = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);

/** `value` as an object whose keys are all allowed and whose required keys are present. */
function objectWith(value: unknown, where: string, allowed: readonly string[], required: readonly string[]): JsonObject {
  if (!isObject(value)) throw badRequest(`Invalid input for field/attribute ${where}: expected an object, got ${typeName(value)}.`);
  const extra = Object.keys(value).filter((k) => !allowed.includes(k));
  if (extra.length > 0) {
    throw badRequest(`Invalid input for field/attribute ${where}: additional properties are not allowed (${extra.map((k) => `'${k}'`).join(", ")} unexpected).`);
  }
  const missing = required.filter((k) => !Object.hasOwn(value, k));
  if (missing.length > 0) throw badRequest(`Invalid input for field/attribute ${where}: '${missing[0]}' is a required property.`);
  return value;
}

function stringField(value: unknown, field: string): string {
  if (typeof value !== "string") throw badRequest(`Invalid input for field/attribute ${field}: expected a string, got ${typeName(value)}.`);
  return value;
}

/** A string, or null (which the caller interprets). */
function nullableString(value: unknown, field: string): string | null {
  return value === null ? null : stringField(value, field);
}

/** `{"aggregate": {"name": N, "availability_zone"?: AZ|null}}`. */
export function parseCreate(body: unknown): { name: string; availabilityZone?: string } {
  const aggregate = objectWith(objectWith(body, "body", ["aggregate"], ["aggregate"]).aggregate, "aggregate", ["name", "availability_zone"], ["name"]);
  const name = stringField(aggregate.name, "name");
  const zone = Object.hasOwn(aggregate, "availability_zone") ? nullableString(aggregate.availability_zone, "availability_zone") : null;
  return zone === null ? { name } : { name, availabilityZone: zone };
}

/**
 * `{"aggregate": {"name"?: N, "availability_zone"?: AZ|null}}`. A null zone becomes "" so the
 * domain refuses it as an empty zone, as Nova does ("does not support empty named availability zone").
 */
export function parseUpdate(body: unknown): { name?: string; availabilityZone?: string } {
  const aggregate = objectWith(objectWith(body, "body", ["aggregate"], ["aggregate"]).aggregate, "aggregate", ["name", "availability_zone"], []);
  const out: { name?: string; availabilityZone?: string } = {};
  if (Object.hasOwn(aggregate, "name")) out.name = stringField(aggregate.name, "name");
  if (Object.hasOwn(aggregate, "availability_zone")) out.availabilityZone = nullableString(aggregate.availability_zone, "availability_zone") ?? "";
  return out;
}

/** One action posted to `…/os-aggregates/{id}/action`. */
export type AggregateAction =
  | { action: "add_host"; host: string }
  | { action: "remove_host"; host: string }
  | { action: "set_metadata"; metadata: [key: string, value: string | null][] };

const actionNames = ["add_host", "remove_host", "set_metadata"] as const;

/** `{"add_host": {"host": H}}`, `{"remove_host": {"host": H}}` or `{"set_metadata": {"metadata": {k: v|null}}}`. */
export function parseAction(body: unknown): AggregateAction {
  if (!isObject(body) || Object.keys(body).length === 0) throw badRequest("Malformed request body: expected one action, e.g. {\"add_host\": {\"host\": \"H\"}}.");
  const keys = Object.keys(body);
  if (keys.length > 1) throw badRequest(`Malformed request body: one action per request (got ${keys.map((k) => `'${k}'`).join(", ")}).`);
  const name = keys[0]!;
  if (!(actionNames as readonly string[]).includes(name)) throw badRequest(`There is no such action: ${name}`);
  if (name === "set_metadata") {
    const metadata = objectWith(body[name], name, ["metadata"], ["metadata"]).metadata;
    if (!isObject(metadata)) throw badRequest(`Invalid input for field/attribute metadata: expected an object, got ${typeName(metadata)}.`);
    const entries = Object.entries(metadata).map(([key, value]): [string, string | null] => {
      if (value !== null && typeof value !== "string") {
        throw badRequest(`Invalid input for field/attribute metadata[${JSON.stringify(key)}]: expected a string or null, got ${typeName(value)}.`);
      }
      return [key, value];
    });
    return { action: "set_metadata", metadata: entries };
  }
  const host = stringField(objectWith(body[name], name, ["host"], ["host"]).host, "host");
  return { action: name as "add_host" | "remove_host", host };
}
