/**
 * Riding out a lost database connection (the server restarted, a failover, a cut): the PostgreSQL
 * store retries what it can safely run again — a read, or a whole transaction that failed before its
 * COMMIT was sent (the server rolled it back) — until the database answers or a time budget runs out.
 */

/** SQLSTATE classes and driver codes that say the connection or the server went away (25P03: ended by idle_in_transaction_session_timeout). */
const lostCodes = new Set(["57P01", "57P02", "57P03", "25P03", "ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH"]);

/** True for an error that says the connection was lost or the server is not accepting connections. */
export function isConnectionLoss(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string" && (code.startsWith("08") || lostCodes.has(code))) return true;
  return err instanceof Error && /Connection terminated|connection error|timeout exceeded when trying to connect/i.test(err.message);
}

/** Runs fn, and again after a growing pause (50 ms to 1 s) while it fails with a lost connection, for at most budgetMs. */
export async function retryOnConnectionLoss<T>(fn: () => Promise<T>, budgetMs: number): Promise<T> {
  const giveUpAt = Date.now() + budgetMs;
  let pause = 50;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isConnectionLoss(err) || Date.now() + pause > giveUpAt) throw err;
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, 1000);
    }
  }
}
