/** SetAggregateMetadata: set and remove keys atomically (keys are case-insensitive) — one transaction. */
import { alreadyExists, failedPrecondition, type FieldViolation } from "../../shared/errors.js";
import { nowIso, type AggregateRecord } from "../model/records.js";
import { checkMetadataKey, checkMetadataValue, maxMetadataKeys, violations } from "../model/validation.js";
import type { Store } from "../store/store.js";
import { assertValid, requireAggregate } from "./lookups.js";

/** Sets and removes metadata keys atomically. */
export async function setAggregateMetadata(store: Store, input: { id: number; set: Record<string, string>; remove: string[] }): Promise<AggregateRecord> {
  const found: FieldViolation[] = [];
  for (const [key, value] of Object.entries(input.set)) {
    const field = `metadata[${JSON.stringify(key)}]`;
    found.push(...violations(checkMetadataKey(key, field), checkMetadataValue(value, field)));
  }
  input.remove.forEach((key, i) => {
    const v = checkMetadataKey(key, `remove_keys[${i}]`);
    if (v) found.push(v);
    if (Object.hasOwn(input.set, key)) found.push({ field: `remove_keys[${i}]`, description: `key "${key}" is both set and removed` });
  });
  const lowered = new Map<string, string>();
  for (const key of Object.keys(input.set)) {
    const other = lowered.get(key.toLowerCase());
    if (other !== undefined) found.push({ field: `metadata[${JSON.stringify(key)}]`, description: `key "${key}" differs from key "${other}" only in case` });
    lowered.set(key.toLowerCase(), key);
  }
  if (Object.keys(input.set).length + input.remove.length === 0) {
    found.push({ field: "metadata", description: "set at least one key or remove_keys entry" });
  }
  assertValid(found);
  return await store.transaction(async () => {
    const current = await requireAggregate(store, input.id);
    const removing = new Set(input.remove);
    const remaining = Object.keys(current.metadata).filter((k) => !removing.has(k));
    const byLower = new Map(remaining.map((k) => [k.toLowerCase(), k]));
    for (const key of Object.keys(input.set)) {
      const existing = byLower.get(key.toLowerCase());
      if (existing !== undefined && existing !== key) {
        throw alreadyExists(`metadata key "${key}" clashes with existing key "${existing}" (keys are case-insensitive)`);
      }
    }
    const total = new Set([...remaining, ...Object.keys(input.set)]).size;
    if (total > maxMetadataKeys) throw failedPrecondition(`an aggregate holds at most ${maxMetadataKeys} metadata keys (this change would make ${total})`);
    await store.aggregates.setMetadata(input.id, input.set, input.remove, nowIso());
    return (await store.aggregates.get(input.id))!;
  });
}

