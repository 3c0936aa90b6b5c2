import { describe, expect, it } from "vitest";
import { isConnectionLoss, retryOnConnectionLoss } from "./pg-reconnect.js";

const withCode = (code: string) => Object.assign(new Error(`failed (${code})`), { code });

describe("lost database connections", () => {
  it("are told from other errors", () => {
    for (const code of ["57P01", "25P03", "08006", "08001", "ECONNREFUSED", "ECONNRESET"]) expect(isConnectionLoss(withCode(code)), code).toBe(true);
    expect(isConnectionLoss(new Error("Connection terminated unexpectedly"))).toBe(true);
    for (const code of ["23505", "40001", "42P01", "25P02"]) expect(isConnectionLoss(withCode(code)), code).toBe(false);
    expect(isConnectionLoss(new Error("body failed"))).toBe(false);
    expect(isConnectionLoss(undefined)).toBe(false);
  });

  it("are retried until the call succeeds; other errors and an exhausted budget are thrown", async () => {
    let calls = 0;
    expect(await retryOnConnectionLoss(async () => (++calls < 3 ? Promise.reject(withCode("57P01")) : "ok"), 5_000)).toBe("ok");
    expect(calls).toBe(3);
    calls = 0;
    await expect(retryOnConnectionLoss(async () => (++calls, Promise.reject(withCode("23505"))), 5_000)).rejects.toThrow("23505");
    expect(calls).toBe(1);
    await expect(retryOnConnectionLoss(async () => Promise.reject(withCode("ECONNREFUSED")), 120)).rejects.toThrow("ECONNREFUSED");
  });
});
