/**
 * While the own XAPI is down, asks it every poll interval (a refused connection costs nothing) and
 * says so the moment it answers again, so the registrar reports at once instead of at its next
 * heartbeat. Not used while XAPI is up: then the heartbeats alone read it.
 */
import { delay } from "../xapi/delay.js";
import type { AgentContext } from "../service/agent-context.js";

/** Polls the own XAPI until it answers (then calls onAnswer once) or the signal aborts. */
export async function watchForXapiReturn(ctx: AgentContext, signal: AbortSignal, onAnswer: () => void): Promise<void> {
  while (!signal.aborted) {
    try {
      await delay(ctx.timings.pollIntervalMs, signal);
    } catch {
      return;
    }
    // Any answer counts, a XenAPI refusal included: only "unreachable" means it is still down.
    const kind = await ctx.xapi.homeState({ signal }).then(
      (state) => state.kind,
      () => "answered",
    );
    if (signal.aborted) return;
    if (kind !== "unreachable") {
      onAnswer();
      return;
    }
  }
}
