/** A mistake in how aggctl was called (exit code 2). Its own module, so usage errors load nothing else. */
export class UsageError extends Error {}

/** What aggctl prints for a usage error, and its exit code. */
export function describeUsageError(err: UsageError): { text: string; exitCode: number } {
  return { text: `aggctl: ${err.message}\nrun "aggctl help" for usage`, exitCode: 2 };
}
