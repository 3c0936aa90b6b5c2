/** aggregates-controller: the controller daemon's command line. */
import { dirname, resolve } from "node:path";
import { TokenRegistry } from "../shared/auth.js";
import { parseArgsWithConfig } from "../shared/config-file.js";
import { formatHostPort } from "../shared/address.js";
import { createLogger } from "../shared/logging.js";
import { loadClientTls, loadServerTls } from "../shared/tls.js";
import { readFileSync } from "node:fs";
import { crashHookFromEnv } from "./engine/crash-hook.js";
import { controllerOptions, databaseOption, defaultDatabase, usage } from "./cli-options.js";
import { isPostgresUrl, printableDatabase } from "./store/database-url.js";
import { devToken } from "./dev-tokens.js";

async function main(): Promise<void> {
  const values = parseArgsWithConfig(process.argv.slice(2), controllerOptions, ["help"]);
  if (values.help) {
    console.log(usage);
    return;
  }
  const log = createLogger("controller");
  const dbPath = databaseOption(values.db, process.env, (path) => resolve(path));
  const tokens = TokenRegistry.load({ file: values["tokens-file"] });
  const notes: string[] = [];
  let agentToken = values["agent-token-file"] ? readFileSync(values["agent-token-file"], "utf8").trim() : process.env.AGGREGATES_AGENT_TOKEN;
  if (tokens.size === 0) {
    const dataDir = isPostgresUrl(dbPath) ? resolve(dirname(defaultDatabase)) : dirname(dbPath);
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
  const replicaId = values["replica-id"]?.trim();
  if (replicaId === "") throw new Error("--replica-id must not be empty");
  const leaseTtlMs = seconds("--lease-ttl", values["lease-ttl"]);
  if (leaseTtlMs < 1000) throw new Error("--lease-ttl must be at least 1 second");
  // Loaded after the flags and the config file are checked, so mistakes are reported without loading it.
  const { startController } = await import("./server.js");
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
    replicaId,
    leaseTtlMs,
  });
  const grpcEndpoint = formatHostPort(controller.grpcAddress);
  console.log(`controller serving gRPC on ${grpcEndpoint}${tls ? " (TLS)" : ""}`);
  if (controller.httpAddress) {
    const base = `${tls ? "https" : "http"}://${formatHostPort(controller.httpAddress)}`;
    console.log(`Connect/JSON (curl) on ${base}`);
    console.log(`Prometheus metrics on ${base}/metrics (a metrics or admin token)`);
    if (values["console-dir"] !== "off") console.log(`web console on ${base}/ui/`);
  }
  console.log(`database: ${printableDatabase(dbPath)}`);
  console.log(`replica id: ${controller.replicaId}`);
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
