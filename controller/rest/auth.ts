/**
 * Who may call the REST API: an admin token in `X-Auth-Token` (what OpenStack clients send with
 * `--os-token`) or `Authorization: Bearer`. No or unknown token → 401; a non-admin token → 403.
 */
import type { IncomingHttpHeaders } from "node:http";
import { bearerToken, type TokenRegistry } from "../../shared/auth.js";
import { NovaFault } from "./faults.js";

/** What a 401 advertises. */
const challenge = { "WWW-Authenticate": 'Bearer realm="os-aggregates"' };

/** The token a request carries, if any. */
function tokenOf(headers: IncomingHttpHeaders): string | undefined {
  const raw = headers["x-auth-token"];
  const xAuth = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  if (xAuth) return xAuth;
  return bearerToken(headers.authorization);
}

/** Throws 401/403 unless the request carries an admin token; never logs or echoes the token. */
export function requireAdmin(headers: IncomingHttpHeaders, tokens: TokenRegistry): void {
  const token = tokenOf(headers);
  if (token === undefined) {
    throw new NovaFault(401, "The request you have made requires authentication: send an admin token in X-Auth-Token.", challenge);
  }
  const role = tokens.roleOf(token);
  if (role === undefined) throw new NovaFault(401, "The request you have made requires authentication: the token is not valid.", challenge);
  if (role !== "admin") throw new NovaFault(403, "Policy doesn't allow os_compute_api:os-aggregates to be performed: it needs the admin role.");
}
