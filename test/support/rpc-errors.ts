/** Assertions on RPC failures: status code and google.rpc.BadRequest field violations. */
import { Code, ConnectError } from "@connectrpc/connect";
import { expect } from "vitest";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";

/** Awaits a call that must fail with `code`; returns the error for further checks. */
export async function expectRpcError(call: Promise<unknown>, code: Code): Promise<ConnectError> {
  let outcome: unknown;
  try {
    outcome = await call;
  } catch (err) {
    const error = ConnectError.from(err);
    expect(Code[error.code], `status of the failed call (message: ${error.rawMessage})`).toBe(Code[code]);
    return error;
  }
  throw new Error(`expected the call to fail with ${Code[code]}, but it succeeded: ${String(outcome)}`);
}

/** The fields named by the BadRequest details of an error. */
export function violatedFields(err: ConnectError): string[] {
  return err.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field));
}

/** Awaits a call that must fail with INVALID_ARGUMENT and a field violation on `field`. */
export async function expectInvalidField(call: Promise<unknown>, field: string): Promise<ConnectError> {
  const err = await expectRpcError(call, Code.InvalidArgument);
  expect(violatedFields(err), `field violations of: ${err.rawMessage}`).toContain(field);
  return err;
}
