/**
 * Who may scrape the controller's /metrics: a bearer token of role `metrics` (a scrape-only
 * credential for Prometheus) or `admin`. The HTTP port also serves the API to every client, and
 * the metrics name aggregates and hosts, so they are not public; an agent token is refused.
 */
import type { IncomingMessage } from "node:http";
import { bearerToken, type TokenRegistry } from "../../shared/auth.js";
import type { ScrapeAccess } from "../../shared/metrics/http.js";

const challenge = { "www-authenticate": 'Bearer realm="metrics"' };

/** The access rule of the controller's /metrics; never echoes or logs the token. */
export function scrapeAccess(tokens: TokenRegistry): ScrapeAccess {
  return (req: IncomingMessage) => {
    const token = bearerToken(req.headers.authorization);
    if (token === undefined) return { status: 401, message: "send 'authorization: Bearer <token>' with a metrics or admin token", headers: challenge };
    const role = tokens.roleOf(token);
    if (role === undefined) return { status: 401, message: "invalid bearer token", headers: challenge };
    if (role !== "metrics" && role !== "admin") return { status: 403, message: `role "${role}" may not read metrics (needs metrics or admin)` };
    return undefined;
  };
}
