/** npm start: runs the sandbox until Ctrl-C. */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { formatHostPort } from "../shared/address.js";
import { createLogger } from "../shared/logging.js";
import { startSandbox } from "./sandbox.js";

const usage = `usage: npm start -- [--hosts N] [--vms-per-host M] [--port P] [--state-dir DIR] [--time-scale X]
                    [--replicas N [--db postgres://USER@HOST:PORT/DB]]

  --hosts         simulated XenServer hosts on first start (default 3)
  --vms-per-host  running VMs created on each host on first start (default 2)
  --port          controller gRPC port (default 50051); Connect/JSON and REST on P+1; replica i (from 0)
                  on P+2i and P+2i+1
  --replicas      controller replicas on one PostgreSQL database (default 1); agents get every endpoint
  --db            the controllers' database (default: SQLite in the state directory; for replicas a
                  PostgreSQL cluster of the sandbox's own there, which needs initdb/pg_ctl installed)
  --state-dir     database, simulator state and control port, tokens and sandbox.json (default ./.sandbox)
  --time-scale    simulator clock, real = nominal × X (default 0.1: a pool join takes ~3 s)`;

function positive(name: string, value: string, allowZero = false): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) throw new Error(`--${name} must be a ${allowZero ? "non-negative" : "positive"} number`);
  return n;
}

function wholeNumber(name: string, value: string): number {
  const n = positive(name, value);
  if (!Number.isInteger(n)) throw new Error(`--${name} must be a whole number`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      hosts: { type: "string", default: "3" },
      "vms-per-host": { type: "string", default: "2" },
      port: { type: "string", default: "50051" },
      "state-dir": { type: "string", default: ".sandbox" },
      "time-scale": { type: "string", default: "0.1" },
      replicas: { type: "string", default: "1" },
      db: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return void console.log(usage);
  const log = createLogger("sandbox", { level: (process.env.AGGREGATES_LOG_LEVEL as "info" | undefined) ?? "warn" });
  const stateDir = resolve(values["state-dir"]);
  const sandbox = await startSandbox({
    hosts: Math.floor(positive("hosts", values.hosts)),
    vmsPerHost: Math.floor(positive("vms-per-host", values["vms-per-host"], true)),
    port: Math.floor(positive("port", values.port, true)),
    stateDir,
    timeScale: positive("time-scale", values["time-scale"]),
    replicas: wholeNumber("replicas", values.replicas),
    db: values.db,
    log,
  });
  const { info } = sandbox;
  if (sandbox.controllers.length > 1) {
    for (const c of sandbox.controllers) console.log(`${c.replicaId.padEnd(10)} gRPC ${formatHostPort(c.grpcAddress)}  Connect/JSON+REST http://${formatHostPort(c.httpAddress!)}`);
  } else console.log(`controller gRPC   ${info.controller}`);
  console.log(`Connect/JSON+REST http://${info.http}`);
  console.log(`metrics           http://${info.http}/metrics  (admin token; docs/metrics.md)`);
  console.log(`web console       ${info.console}  (sign in with the admin token)`);
  console.log(`simulator control ${info.simulatorControl}`);
  for (const h of info.hosts) console.log(`host ${h.name.padEnd(6)} XAPI ${h.xapiUrl}  agent ${h.agent}`);
  console.log(`admin token       ${info.adminToken}  (also in ${stateDir}/admin-token and sandbox.json)`);
  console.log(`\ntry:\n  export AGGREGATES_ENDPOINT=${info.controllers.join(",")} AGGREGATES_TOKEN=$(cat ${stateDir}/admin-token)\n  bin/aggctl host-list\n`);
  console.log(`sandbox ready (${stateDir}/sandbox.json); Ctrl-C stops everything`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    console.log("stopping…");
    void sandbox.close().then(() => process.exit(0));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((err: unknown) => {
  console.error(`sandbox: ${err instanceof Error ? err.message : String(err)}`);
  console.error(usage);
  process.exit(2);
});
