/** Reading the pool during a wait, where an unreachable or restarting XAPI means "not yet", not failure. */
import { XapiUnreachableError, isXapiError } from "../xapi/errors.js";
import type { XapiSession } from "../xapi/session.js";
import { notYet, ready, type ProbeResult } from "../xapi/wait.js";
import { readPool, type PoolSnapshot } from "./pool-snapshot.js";

/** Codes that only mean a toolstack is (re)starting or the pool is settling. */
const settlingCodes = ["HOST_STILL_BOOTING", "HOST_IS_SLAVE", "HOST_MASTER_CANNOT_TALK_BACK", "HOST_UNKNOWN_TO_MASTER"];

/** The pool snapshot, or notYet while XAPI is restarting. */
export async function probePool(session: XapiSession, signal: AbortSignal): Promise<ProbeResult<PoolSnapshot>> {
  try {
    return ready(await readPool(session, { signal }));
  } catch (err) {
    if (err instanceof XapiUnreachableError && err.reason !== "aborted") return notYet(`pool unreachable: ${err.message}`);
    if (isXapiError(err, ...settlingCodes)) return notYet(`pool settling: ${err.code}`);
    throw err;
  }
}
