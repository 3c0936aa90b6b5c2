/** Which agent reports run an aggregate's fencing at once: the decision, kept per host. */
import type { PoolFactsRecord } from "../model/records.js";

/** The pool facts that decide fencing, as one comparable string. */
const factsKey = (f: PoolFactsRecord) => JSON.stringify([f.role, f.masterAddress, f.poolUuid, f.emergencyMode, f.xapiReachable]);

/** Remembers each host's last reported pool facts. */
export class ReportTrigger {
  private readonly last = new Map<string, string>();

  /**
   * Records a report; true when it should run its aggregate's fencing now: a registration (the
   * agent's XAPI came back, its role or pool changed, it restarted), or a heartbeat whose pool facts
   * differ from the host's last report — and only with a reachable XAPI (nothing can be repointed otherwise).
   */
  observe(host: string, facts: PoolFactsRecord | null, kind: "registration" | "heartbeat"): boolean {
    if (!facts) return false;
    const key = factsKey(facts);
    const changed = this.last.get(host) !== key;
    this.last.set(host, key);
    return facts.xapiReachable && (kind === "registration" || changed);
  }
}
