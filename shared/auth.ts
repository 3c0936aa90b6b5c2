/** Bearer-token authentication with roles, compared in constant time. */
import { hash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { createContextKey } from "@connectrpc/connect";
import { ConnectError, Code } from "@connectrpc/connect";

/** Roles a caller can have: admins, agents, and scrapers of /metrics (which may read metrics only). */
export type Role = "admin" | "agent" | "metrics";
export const roles: readonly Role[] = ["admin", "agent", "metrics"];

/** Who is calling. */
export interface Principal {
  role: Role;
  /** How the caller proved it: a bearer token or a verified client certificate. */
  via: "token" | "client-certificate";
}

/** Context key under which handlers find the authenticated caller. */
export const principalKey = createContextKey<Principal | undefined>(undefined, { description: "principal" });

/** SHA-256 of the token's UTF-8 bytes (the one-shot hash: half the cost of a Hash object, on every call). */
const digest = (token: string): Buffer => hash("sha256", token, "buffer");

/** A set of accepted tokens and their roles. Tokens are kept only as SHA-256 digests. */
export class TokenRegistry {
  private readonly entries: { digest: Buffer; role: Role }[] = [];

  /** Adds a token with a role. Empty tokens are refused. */
  add(token: string, role: Role): this {
    if (token.trim() === "") throw new Error(`empty ${role} token`);
    if (!roles.includes(role)) throw new Error(`unknown role "${role}"`);
    this.entries.push({ digest: digest(token.trim()), role });
    return this;
  }

  /** Number of tokens. */
  get size(): number {
    return this.entries.length;
  }

  /** The role of a token, or undefined. Looks at every entry so timing does not reveal which matched. */
  roleOf(token: string): Role | undefined {
    const candidate = digest(token);
    let found: Role | undefined;
    for (const entry of this.entries) {
      if (timingSafeEqual(entry.digest, candidate) && found === undefined) found = entry.role;
    }
    return found;
  }

  /**
   * Loads tokens from a JSON file (`[{"token": "...", "role": "admin"|"agent"|"metrics"}]`) and from
   * AGGREGATES_ADMIN_TOKEN / AGGREGATES_AGENT_TOKEN / AGGREGATES_METRICS_TOKEN.
   */
  static load(options: { file?: string; env?: NodeJS.ProcessEnv }): TokenRegistry {
    const registry = new TokenRegistry();
    if (options.file) {
      const parsed: unknown = JSON.parse(readFileSync(options.file, "utf8"));
      if (!Array.isArray(parsed)) throw new Error(`tokens file ${options.file}: expected a JSON list`);
      parsed.forEach((entry: unknown, i) => {
        const e = entry as { token?: unknown; role?: unknown };
        if (typeof e?.token !== "string" || typeof e.role !== "string" || !roles.includes(e.role as Role)) {
          throw new Error(`tokens file ${options.file}: entry ${i} needs "token" and "role" (${roles.join("|")})`);
        }
        registry.add(e.token, e.role as Role);
      });
    }
    const env = options.env ?? process.env;
    if (env.AGGREGATES_ADMIN_TOKEN) registry.add(env.AGGREGATES_ADMIN_TOKEN, "admin");
    if (env.AGGREGATES_AGENT_TOKEN) registry.add(env.AGGREGATES_AGENT_TOKEN, "agent");
    if (env.AGGREGATES_METRICS_TOKEN) registry.add(env.AGGREGATES_METRICS_TOKEN, "metrics");
    return registry;
  }
}

/** The token of an `authorization: Bearer …` header value. */
export function bearerToken(header: string | null | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** Who may call a service: anyone, or callers with one of the roles. */
export type AccessRule = "public" | readonly Role[];

/** Decides who is calling and whether they may; the same rules serve gRPC and Connect. */
export interface Authenticator {
  /**
   * Authenticates a call. `clientCertificateVerified` is true when TLS verified a client
   * certificate against the configured CA. Throws UNAUTHENTICATED or PERMISSION_DENIED.
   */
  authorize(rule: AccessRule, authorization: string | null | undefined, clientCertificateVerified: boolean): Principal | undefined;
}

/** Authenticator over a token registry, optionally trusting verified client certificates as a role. */
export function tokenAuthenticator(tokens: TokenRegistry, clientCertificateRole?: Role): Authenticator {
  return {
    authorize(rule, authorization, clientCertificateVerified) {
      if (rule === "public") return undefined;
      let principal: Principal | undefined;
      const token = bearerToken(authorization);
      if (token !== undefined) {
        const role = tokens.roleOf(token);
        if (role === undefined) throw new ConnectError("invalid bearer token", Code.Unauthenticated);
        principal = { role, via: "token" };
      } else if (clientCertificateVerified && clientCertificateRole) {
        principal = { role: clientCertificateRole, via: "client-certificate" };
      } else {
        throw new ConnectError("missing credentials: send 'authorization: Bearer <token>'", Code.Unauthenticated);
      }
      if (!rule.includes(principal.role)) {
        throw new ConnectError(`role "${principal.role}" may not call this method (needs ${rule.join(" or ")})`, Code.PermissionDenied);
      }
      return principal;
    },
  };
}
