import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { StoreUnavailable } from "./store-unavailable.js";

describe("StoreUnavailable", () => {
  it("is a ConnectError UNAVAILABLE (what API clients get) with its cause", () => {
    const cause = new Error("terminating connection");
    const err = new StoreUnavailable("the database did not answer", cause);
    expect(err).toBeInstanceOf(ConnectError);
    expect(err.code).toBe(Code.Unavailable);
    expect(err.cause).toBe(cause);
  });

  it("is told apart from every other ConnectError (ConnectError's own instanceof accepts any of them)", () => {
    expect(new ConnectError("agent stopping", Code.Unavailable) instanceof StoreUnavailable).toBe(false);
    expect(new ConnectError("refused", Code.FailedPrecondition) instanceof StoreUnavailable).toBe(false);
    expect(new Error("plain") instanceof StoreUnavailable).toBe(false);
    expect(new StoreUnavailable("lost", undefined) instanceof StoreUnavailable).toBe(true);
  });
});
