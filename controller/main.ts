/** aggregates-controller: the controller daemon's command line. */
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { TokenRegistry } from "../shared/auth.js";
import { formatHostPort } from "../shared/address.js";
import { createLogger } from "../shared/logging.js";
import { loadClientTls, loadServerTls } from "../shared/tls.js";
import { readFileSync } from "node:fs";
import { crashHookFromEnv } from "./engine/crash-hook.js";
import { devToken } from "./dev-tokens.js";
import { startController } from "./server.js";

const usage = `usage: aggregates-controller [--listen HOST:PORT] [--http-listen HOST:PORT|off] [--db PATH]
       [--tokens-file FILE] [--tls-cert F --tls-key F [--tls-client-ca F]] [--heartbeat-interval SECONDS]
       [--agent-token-file F] [--agent-ca F --agent-cert F --agent-key F]
       [--step-timeout SECONDS] [--reconcile-interval SECONDS]
       [--master-check-interval SECONDS] [--master-failure-threshold SECONDS] [--console-dir DIR|off]

  --listen            gRPC address (default 127.0.0.1:50051)
  --http-listen       Connect/JSON (curl) address (default 127.0.0.1:50052; "off" disables)
  --db                SQLite database (default ./data/controller.db)
  --tokens-file       JSON list of {"token": "...", "role": "admin"|"agent"|"metrics"}
                      (also AGGREGATES_ADMIN_TOKEN / AGGREGATES_AGENT_TOKEN / AGGREGATES_METRICS_TOKEN);
                      with none, development tokens are generated under the database's directory.
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
                      this checkout, built by npm run build:ui; "off" serves none)`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      listen: { type: "string", default: "127.0.0.1:50051" },
      "http-listen": { type: "string", default: "127.0.0.1:50052" },
      db: { type: "string", default: "./data/controller.db" },
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
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  const log = createLogger("controller");
  const dbPath = resolve(values.db);
  const tokens = TokenRegistry.load({ file: values["tokens-file"] });
  const notes: string[] = [];
  let agentToken = values["agent-token-file"] ? readFileSync(values["agent-token-file"], "utf8").trim() : process.env.AGGREGATES_AGENT_TOKEN;
  if (tokens.size === 0) {
    const dataDir = dirname(dbPath);
    const admin = devToken(dataDir, "admin-token");
    const agent = devToken(dataDir, "agent-token");
    tokens.add(admin.token, "admin").add(agent.token, "agent");
    agentToken ??= agent.token;
    notes.push(
      admin.created
        ? `generated a development admin token (stored in ${admin.path}, mode 0600): ${admin.token}`
        : `development admin token: read it from ${admin.path}`,
      `agents authenticate with the token in ${agent.path}`,
    );
  }
  if (Boolean(values["tls-cert"]) !== Boolean(values["tls-key"])) throw new Error("--tls-cert and --tls-key go together");
  const heartbeatSeconds = Number(values["heartbeat-interval"]);
  if (!(heartbeatSeconds > 0)) throw new Error("--heartbeat-interval must be a positive number of seconds");
  const tls = values["tls-cert"] ? loadServerTls({ cert: values["tls-cert"], key: values["tls-key"]!, clientCa: values["tls-client-ca"] }) : undefined;
  const seconds = (flag: string, value: string, allowZero = false) => {
    const n = Number(value);
    if (!(n > 0 || (allowZero && n === 0))) throw new Error(`${flag} must be a ${allowZero ? "non-negative" : "positive"} number of seconds`);
    return n * 1000;
  };
  const controller = await startController({
    agentCredentials: { token: agentToken, tls: loadClientTls({ ca: values["agent-ca"], cert: values["agent-cert"], key: values["agent-key"] }) },
    stepTimeoutMs: seconds("--step-timeout", values["step-timeout"]),
    reconcileIntervalMs: seconds("--reconcile-interval", values["reconcile-interval"], true),
    masterCheckIntervalMs: values["master-check-interval"] !== undefined ? seconds("--master-check-interval", values["master-check-interval"], true) : undefined,
    masterFailureThresholdMs: values["master-failure-threshold"] !== undefined ? seconds("--master-failure-threshold", values["master-failure-threshold"]) : undefined,
    crashHook: crashHookFromEnv(),
    consoleDir: values["console-dir"] === "off" ? false : values["console-dir"] !== undefined ? resolve(values["console-dir"]) : undefined,
    grpcListen: values.listen,
    httpListen: values["http-listen"] === "off" ? undefined : values["http-listen"],
    dbPath,
    tokens,
    tls,
    log,
    heartbeatIntervalMs: heartbeatSeconds * 1000,
    processMetrics: true,
  });
  const grpcEndpoint = formatHostPort(controller.grpcAddress);
  console.log(`controller serving gRPC on ${grpcEndpoint}${tls ? " (TLS)" : ""}`);
  if (controller.httpAddress) {
    const base = `${tls ? "https" : "http"}://${formatHostPort(controller.httpAddress)}`;
    console.log(`Connect/JSON (curl) on ${base}`);
    console.log(`Prometheus metrics on ${base}/metrics (a metrics or admin token)`);
    if (values["console-dir"] !== "off") console.log(`web console on ${base}/ui/`);
  }
  console.log(`database: ${dbPath}`);
  for (const note of notes) console.log(note);
  console.log(`authenticate with the header "authorization: Bearer <admin token>"; for aggctl: export AGGREGATES_ENDPOINT=${grpcEndpoint} AGGREGATES_TOKEN=<admin token>`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("shutting down", { signal });
    void controller.close().then(() => process.exit(0));
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((err: unknown) => {
  console.error(`aggregates-controller: ${err instanceof Error ? err.message : String(err)}`);
  console.error(usage);
  process.exit(2);
});
