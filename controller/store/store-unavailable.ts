/**
 * The store port's one failure that says nothing about the data: the database could not be reached
 * within the store's reconnection budget, or the connection was lost while a COMMIT was on its way,
 * so whether that transaction was applied is unknown. Whoever gets it must not record anything on
 * the strength of it; an operation's run is interrupted (not failed) and resumes from its journal
 * once the database answers (engine/runner.ts). Answered to API clients as UNAVAILABLE.
 */
import { Code, ConnectError } from "@connectrpc/connect";

/** The database is unreachable, or a COMMIT's outcome is unknown. */
export class StoreUnavailable extends ConnectError {
  constructor(message: string, cause: unknown) {
    super(message, Code.Unavailable, undefined, undefined, cause);
  }

  /**
   * The prototype chain decides, as for any class: ConnectError's own check accepts every error
   * shaped like a ConnectError, which subclasses inherit — `x instanceof StoreUnavailable` would
   * then hold for every ConnectError (an agent's UNAVAILABLE, a XenAPI refusal…).
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }
}
