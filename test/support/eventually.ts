/** Waiting on conditions in tests (never fixed sleeps). */

/** Polls `check` every 20 ms until it returns a value (not undefined/false) or timeoutMs passes. */
export async function eventually<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const started = Date.now();
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() - started > timeoutMs) {
      throw new Error(`timed out waiting for ${what}${lastError instanceof Error ? ` (last error: ${lastError.message})` : ""}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
