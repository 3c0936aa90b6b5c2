/** Scripted faults: validation of the control API's fault specs, and their effect on a host's next calls. */
import type { Fault, Machine } from "./state/machine.js";
import type { World } from "./world.js";

const NEVER = new Promise<never>(() => undefined);

/** A fault as given to the control API. */
export interface FaultSpec {
  /** Wire method name ("VM.pool_migrate", "Async.VM.pool_migrate", "session.login_with_password") or "*". */
  method: string;
  /** XenAPI ErrorDescription to answer with, e.g. ["HOST_OFFLINE", "OpaqueRef:…"]. */
  error?: string[];
  /** Never answer (the call hangs until the host goes down). */
  hang?: boolean;
  /** Nominal delay before answering (normally or with `error`). */
  delayMs?: number;
  /**
   * With `error`: the call starts and does (part of) its work, then fails with `error` instead of
   * failing before it starts: a migration is aborted half-way through its memory copy (the VM stays
   * where it was), a join goes through its toolstack restart and then rolls back (the host comes back
   * standalone, the master forgets it), any other call does all its work and then answers the error.
   */
  midway?: boolean;
  /** How many of the next calls are affected (default 1). */
  count?: number;
}

/** Validates an untrusted fault spec; returns an error message or the fault. */
export function validateFault(input: unknown): Fault | string {
  if (input === null || typeof input !== "object" || Array.isArray(input)) return "body must be a JSON object";
  const spec = input as Record<string, unknown>;
  const { method, error, hang, delayMs, count, midway } = spec;
  if (typeof method !== "string" || method.length === 0 || method.length > 200) return "method must be a non-empty string";
  if (error !== undefined && (!Array.isArray(error) || error.length === 0 || !error.every((e) => typeof e === "string"))) {
    return "error must be a non-empty array of strings";
  }
  if (hang !== undefined && typeof hang !== "boolean") return "hang must be a boolean";
  if (delayMs !== undefined && (typeof delayMs !== "number" || !Number.isFinite(delayMs) || delayMs < 0)) {
    return "delayMs must be a non-negative number";
  }
  if (count !== undefined && (typeof count !== "number" || !Number.isInteger(count) || count < 1)) {
    return "count must be a positive integer";
  }
  if (midway !== undefined && typeof midway !== "boolean") return "midway must be a boolean";
  if (error === undefined && hang !== true && delayMs === undefined) return "one of error, hang or delayMs is required";
  if (error !== undefined && hang === true) return "error and hang are exclusive";
  if (midway === true && error === undefined) return "midway needs an error";
  const fault: Fault = { method, count: count ?? 1 };
  if (error !== undefined) fault.error = [...(error as string[])];
  if (midway === true) fault.midway = true;
  if (hang === true) fault.hang = true;
  if (delayMs !== undefined) fault.delayMs = delayMs;
  return fault;
}

/** What a fault makes of a call: fail before it starts, or fail part-way (the handler decides where). */
export interface FaultOutcome {
  /** Answer this error before the call does anything. */
  error: string[] | null;
  /** Let the call start, then fail it part-way with this error. */
  midway: string[] | null;
}

const proceed: FaultOutcome = Object.freeze({ error: null, midway: null }) as FaultOutcome;

/**
 * Applies the host's next fault for `method`, if any: waits its delay, hangs
 * forever, or resolves to the error to answer at once or part-way. Resolves to
 * no error at all when the call should proceed normally.
 */
export async function applyFault(world: World, machine: Machine, method: string): Promise<FaultOutcome> {
  const fault = machine.takeFault(method);
  if (!fault) return proceed;
  world.changed();
  if (fault.delayMs) await world.clock.sleep(fault.delayMs);
  if (fault.hang) return NEVER;
  const error = fault.error ?? null;
  return fault.midway ? { error: null, midway: error } : { error, midway: null };
}
