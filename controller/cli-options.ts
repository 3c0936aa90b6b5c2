/** The controller's command line: its usage text and its flags (also the config-file keys). */
import type { ParseArgsConfig } from "node:util";
import { isPostgresUrl } from "./store/database-url.js";

/** Usage text. */
export const usage = `usage: aggregates-controller [--config FILE] [--listen HOST:PORT] [--http-listen HOST:PORT|off] [--db PATH|URL]
       [--tokens-file FILE] [--tls-cert F --tls-key F [--tls-client-ca F]] [--heartbeat-interval SECONDS]
       [--agent-token-file F] [--agent-ca F --agent-cert F --agent-key F]
       [--step-timeout SECONDS] [--reconcile-interval SECONDS]
       [--master-check-interval SECONDS] [--master-failure-threshold SECONDS] [--console-dir DIR|off]
       [--replica-id NAME] [--lease-ttl SECONDS]

  --config            JSON file of flags: {"listen": "0.0.0.0:50051", "db": "/var/lib/aggregates/controller.db", …}
                      (keys are the flag names without "--"; flags given here override it)
  --listen            gRPC address (default 127.0.0.1:50051)
  --http-listen       Connect/JSON (curl) address (default 127.0.0.1:50052; "off" disables)
  --db                the database: a SQLite file, or postgres://USER[:PASSWORD]@HOST:PORT/DB for
                      PostgreSQL (also AGGREGATES_DB_URL; default ./data/controller.db)
  --tokens-file       JSON list of {"token": "...", "role": "admin"|"agent"|"metrics"}
                      (also AGGREGATES_ADMIN_TOKEN / AGGREGATES_AGENT_TOKEN / AGGREGATES_METRICS_TOKEN);
                      with none, development tokens are generated under the database's directory
                      (./data with PostgreSQL).
                      GET /metrics on the HTTP port needs a metrics or admin token (docs/metrics.md)
  --tls-cert/--tls-key  serve TLS; --tls-client-ca requires client certificates (mTLS)
  --agent-token-file  token the controller presents to agents (default: AGGREGATES_AGENT_TOKEN,
                      else the development agent token)
  --agent-ca/--agent-cert/--agent-key  TLS towards agents (client certificate for mTLS)
  --step-timeout      deadline of one operation step (default 900)
  --reconcile-interval  how often records are compared with the real pools (default 60; 0 = off)
  --master-check-interval  how often pool masters are checked for failure (default: the heartbeat
                      interval; 0 = off)
  --master-failure-threshold  how long a master must stay unreachable (agent, XAPI and heartbeats)
                      before the members are asked and it is declared failed (default: 6 heartbeat
                      intervals)
  --console-dir       the built web console served under /ui/ on the HTTP port (default: dist/ui of
                      this checkout, built by npm run build:ui; "off" serves none)
  --replica-id        this controller's name among the replicas on one PostgreSQL database
                      (default HOSTNAME:PORT, PORT the bound gRPC port); one process per name
  --lease-ttl         how long an aggregate's lease lasts unless renewed (default 10; renewed every
                      third of it): a dead replica's aggregates move to another after it (docs/replicas.md)`;

/** The flags; every one but help is also a config-file key (shared/config-file.ts). */
export const controllerOptions = {
  listen: { type: "string", default: "127.0.0.1:50051" },
  "http-listen": { type: "string", default: "127.0.0.1:50052" },
  // No default here: --db, then AGGREGATES_DB_URL, then defaultDatabase (databaseOption).
  db: { type: "string" },
  "tokens-file": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "tls-client-ca": { type: "string" },
  "heartbeat-interval": { type: "string", default: "10" },
  "agent-token-file": { type: "string" },
  "agent-ca": { type: "string" },
  "agent-cert": { type: "string" },
  "agent-key": { type: "string" },
  "step-timeout": { type: "string", default: "900" },
  "reconcile-interval": { type: "string", default: "60" },
  "master-check-interval": { type: "string" },
  "master-failure-threshold": { type: "string" },
  "console-dir": { type: "string" },
  "replica-id": { type: "string" },
  "lease-ttl": { type: "string", default: "10" },
  help: { type: "boolean", short: "h" },
} satisfies NonNullable<ParseArgsConfig["options"]>;


/** The SQLite file used when neither --db nor AGGREGATES_DB_URL names a database. */
export const defaultDatabase = "./data/controller.db";

/**
 * The database the controller opens: --db (or the config file's "db"), else AGGREGATES_DB_URL,
 * else the default file. A postgres:// URL is kept as it is; a path is made absolute.
 */
export function databaseOption(flag: string | undefined, env: NodeJS.ProcessEnv, resolvePath: (path: string) => string): string {
  const db = flag ?? (env["AGGREGATES_DB_URL"] || undefined) ?? defaultDatabase;
  return isPostgresUrl(db) ? db : resolvePath(db);
}
