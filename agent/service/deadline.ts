/** One overall deadline for a multi-step operation, handing out the remaining time to each step. */
import { WaitTimeoutError } from "../xapi/errors.js";

/** A deadline started now. */
export class Deadline {
  readonly #end: number;
  readonly #started = Date.now();

  constructor(
    readonly totalMs: number,
    readonly what: string,
  ) {
    this.#end = this.#started + totalMs;
  }

  /** Milliseconds left; throws WaitTimeoutError when none are. */
  remaining(): number {
    const left = this.#end - Date.now();
    if (left <= 0) throw new WaitTimeoutError(this.what, Date.now() - this.#started);
    return left;
  }
}

/** True when two management addresses are the same (case and surrounding blanks ignored). */
export { sameAddress } from "../../shared/address.js";
