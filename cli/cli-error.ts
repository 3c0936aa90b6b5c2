/** Turns errors into what an operator reads, and exit codes. */
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "../gen/google/rpc/error_details_pb.js";
import { codeName, xapiErrorOf } from "../shared/errors.js";
import { unavailableHint } from "./unavailable-hint.js";
import { describeUsageError, UsageError } from "./usage-error.js";

export { UsageError };

/** The message and exit code for an error of a call to the controller at `endpoint`. */
export function describeError(err: unknown, endpoint: string): { text: string; exitCode: number } {
  if (err instanceof UsageError) return describeUsageError(err);
  if (err instanceof ConnectError) {
    const violations = err.findDetails(BadRequestSchema).flatMap((b) => b.fieldViolations);
    const lines = [`ERROR (${codeName(err.code)}): ${violations.length > 0 ? "invalid request" : err.rawMessage}`];
    for (const v of violations) lines.push(`  ${v.field}: ${v.description}`);
    const xapi = xapiErrorOf(err);
    if (xapi) lines.push(`  XenAPI: ${xapi.code}${xapi.params.length ? ` [${xapi.params.join(", ")}]` : ""}`);
    if (err.code === Code.Unavailable) lines.push(`  ${unavailableHint(err, endpoint)}`);
    if (err.code === Code.Unauthenticated) lines.push("  set AGGREGATES_TOKEN (or --token) to an admin token");
    return { text: lines.join("\n"), exitCode: 1 };
  }
  return { text: `aggctl: ${err instanceof Error ? err.message : String(err)}`, exitCode: 1 };
}
