/**
 * The fake-xapi command line (bin/fake-xapi): parses the flags, starts the simulator, prints every
 * host's URL and the control URL, and closes it on SIGINT/SIGTERM.
 */
import { parseArgs } from "node:util";
import { startSimulator } from "./index.js";
import type { SimulatorOptions } from "./options.js";

const USAGE = `usage: fake-xapi --hosts N [--base-address 127.0.0.10] [--port 8080] [--control-port P]
                 [--username root] [--password P] [--time-scale X] [--vms-per-host M]
                 [--host-memory-mib MiB] [--state-file F]

A simulated XenServer pool world: N standalone hosts, host i serving XenAPI
XML-RPC on http://<base+i-1>:<port>/ (and /RPC2), plus a JSON control API.
The password may also come from the FAKE_XAPI_PASSWORD environment variable.
See docs/simulator.md.`;

function intArg(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new Error(`--${name} must be a non-negative integer`);
  return Number(value);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      hosts: { type: "string" },
      "base-address": { type: "string" },
      port: { type: "string" },
      "control-port": { type: "string" },
      username: { type: "string" },
      password: { type: "string" },
      "time-scale": { type: "string" },
      "vms-per-host": { type: "string" },
      "host-memory-mib": { type: "string" },
      "state-file": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const timeScale = values["time-scale"] === undefined ? undefined : Number(values["time-scale"]);
  if (timeScale !== undefined && !(timeScale > 0)) throw new Error("--time-scale must be a positive number");
  const opts: SimulatorOptions = {
    hosts: intArg("hosts", values.hosts) ?? (values["state-file"] ? 0 : 3),
    baseAddress: values["base-address"],
    port: intArg("port", values.port),
    controlPort: intArg("control-port", values["control-port"]),
    username: values.username,
    password: values.password ?? process.env["FAKE_XAPI_PASSWORD"],
    timeScale,
    vmsPerHost: intArg("vms-per-host", values["vms-per-host"]),
    hostMemoryMiB: intArg("host-memory-mib", values["host-memory-mib"]),
    stateFile: values["state-file"],
  };
  const sim = await startSimulator(opts);
  const lines = [`fake-xapi: ${sim.hosts.length} host(s), timeScale ${sim.clock.timeScale}`];
  for (const h of sim.hosts) lines.push(`  ${h.name} ${h.url} (uuid ${h.uuid})`);
  lines.push(`control: ${sim.controlUrl}`);
  process.stdout.write(`${lines.join("\n")}\n`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`fake-xapi: ${signal}, shutting down\n`);
    sim.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`fake-xapi: error while closing: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((error: unknown) => {
  process.stderr.write(`fake-xapi: ${error instanceof Error ? error.message : String(error)}\n`);
  if (error instanceof TypeError && String(error).includes("parseArgs")) process.stderr.write(`${USAGE}\n`);
  process.exit(2);
});
