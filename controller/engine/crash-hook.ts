/**
 * Test hook for crash-safety tests: AGGREGATES_TEST_CRASH="KIND:PHASE:N" makes the controller
 * SIGKILL itself at step N (1-based) of the first operation of KIND (e.g. ADD_HOST), either
 * "during" (after the step acted, before it was recorded) or "after" (once it was recorded).
 * Unset in production; nothing else reads it.
 */
import type { OperationRecord } from "../model/records.js";

/** Called by the runner at each step boundary. */
export type CrashHook = (phase: "during" | "after", stepNumber: number, op: OperationRecord) => void;

/** The hook described by the environment, if any. */
export function crashHookFromEnv(env: NodeJS.ProcessEnv = process.env): CrashHook | undefined {
  const spec = env.AGGREGATES_TEST_CRASH;
  if (!spec) return undefined;
  const match = /^([A-Z_]+):(during|after):(\d+)$/.exec(spec);
  if (!match) throw new Error(`AGGREGATES_TEST_CRASH must look like ADD_HOST:after:2 (got "${spec}")`);
  const [, kind, phase, n] = match;
  return (atPhase, stepNumber, op) => {
    if (op.kind === kind && atPhase === phase && stepNumber === Number(n)) {
      process.stderr.write(`test hook: killing the controller ${phase} step ${n} of ${op.id}\n`);
      process.kill(process.pid, "SIGKILL");
    }
  };
}
