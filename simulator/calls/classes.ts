/**
 * The read messages every XenAPI class has (get_all, get_all_records, get_record, get_by_uuid,
 * get_by_name_label, get_<field>), generated from a class definition, and HANDLE_INVALID lookups.
 */
import type { PoolDb } from "../state/pool-db.js";
import { fail } from "../xapi-error.js";
import type { XapiValue } from "../xmlrpc-codec.js";
import { argString } from "./args.js";
import type { CallContext } from "./context.js";
import type { Registry } from "./registry.js";

/** How to read one XenAPI class from a pool database. */
export interface ClassDef<R> {
  /** Class name as on the wire and in HANDLE_INVALID / UUID_INVALID. */
  name: string;
  all(db: PoolDb): Iterable<R>;
  get(db: PoolDb, ref: string): R | undefined;
  refOf(row: R): string;
  uuidOf(row: R): string;
  /** Present when the class has name_label (enables get_by_name_label). */
  nameOf?: (row: R) => string;
  record(ctx: CallContext, db: PoolDb, row: R): Record<string, XapiValue>;
  fields: readonly string[];
}

/** Looks a ref up or fails with HANDLE_INVALID [class, ref]. */
export function lookupOrFail<R>(def: ClassDef<R>, db: PoolDb, ref: string): R {
  return def.get(db, ref) ?? fail("HANDLE_INVALID", def.name, ref);
}

/**
 * Registers the generic read messages of a class: get_all, get_all_records,
 * get_record, get_by_uuid, get_by_name_label and one get_<field> per field.
 */
export function registerClassReads<R>(reg: Registry, def: ClassDef<R>, skipGetters: readonly string[] = []): void {
  const n = def.name;
  reg.add({
    name: `${n}.get_all`,
    params: [],
    session: "normal",
    handler: (ctx) => [...def.all(ctx.db())].map((r) => def.refOf(r)),
  });
  reg.add({
    name: `${n}.get_all_records`,
    params: [],
    session: "normal",
    handler: (ctx) => {
      const db = ctx.db();
      const out: Record<string, XapiValue> = {};
      for (const row of def.all(db)) out[def.refOf(row)] = def.record(ctx, db, row);
      return out;
    },
  });
  reg.add({
    name: `${n}.get_record`,
    params: ["self"],
    session: "normal",
    handler: (ctx, args) => {
      const db = ctx.db();
      return def.record(ctx, db, lookupOrFail(def, db, argString(args, 0, "self")));
    },
  });
  reg.add({
    name: `${n}.get_by_uuid`,
    params: ["uuid"],
    session: "normal",
    handler: (ctx, args) => {
      const uuid = argString(args, 0, "uuid");
      for (const row of def.all(ctx.db())) if (def.uuidOf(row) === uuid) return def.refOf(row);
      return fail("UUID_INVALID", n, uuid);
    },
  });
  const nameOf = def.nameOf;
  if (nameOf) {
    reg.add({
      name: `${n}.get_by_name_label`,
      params: ["label"],
      session: "normal",
      handler: (ctx, args) => {
        const label = argString(args, 0, "label");
        return [...def.all(ctx.db())].filter((r) => nameOf(r) === label).map((r) => def.refOf(r));
      },
    });
  }
  for (const field of def.fields) {
    if (skipGetters.includes(field)) continue;
    reg.add({
      name: `${n}.get_${field}`,
      params: ["self"],
      session: "normal",
      handler: (ctx, args) => {
        const db = ctx.db();
        const record = def.record(ctx, db, lookupOrFail(def, db, argString(args, 0, "self")));
        return record[field] ?? "";
      },
    });
  }
}
