/** The agent's command line (flags and environment) turned into startAgent options. */
import { readFileSync } from "node:fs";
import type { ParseArgsConfig } from "node:util";
import { parseHostPort } from "../shared/address.js";
import { parseArgsWithConfig } from "../shared/config-file.js";
import { parseHostPortList } from "../shared/rpc/endpoint-list.js";
import { loadClientTls, loadServerTls } from "../shared/tls.js";
import type { AgentOptions } from "./index.js";
import { parseHookFlags } from "./service/run-hook.js";
import { parseXapiUrl } from "./xapi/endpoint.js";

/** Usage text. */
export const usage = `usage: aggregates-agent [--config FILE] --listen HOST:PORT --host-name NAME --xapi-url URL
       [--xapi-username root] (--xapi-password-file F | env XAPI_PASSWORD)
       --controller HOST:PORT[,HOST:PORT…] (--token-file F | env AGGREGATES_AGENT_TOKEN)
       [--controller-token-file F | env AGGREGATES_CONTROLLER_TOKEN]
       [--advertise-endpoint HOST:PORT] [--availability-zone AZ] [--heartbeat-interval SECONDS]
       [--poll-interval SECONDS] [--call-timeout SECONDS]
       [--tls-cert F --tls-key F [--tls-client-ca F]]
       [--controller-ca F] [--controller-cert F --controller-key F] [--xapi-ca F]
       [--metrics-listen HOST:PORT] [--hook NAME=PATH]... [--hook-timeout SECONDS]

  --config              JSON file of flags: {"listen": "0.0.0.0:7001", "host-name": "xs1", …} (keys are the
                        flag names without "--"; flags given here override it; required flags may come from it)
  --listen              gRPC address of PoolAgentService (port 0 picks one)
  --advertise-endpoint  HOST:PORT the controller calls (default: the listen address)
  --host-name           name of this host in the controller (^[a-zA-Z0-9-._]{1,255}$)
  --xapi-url            this host's XAPI, e.g. https://10.0.0.5/
  --xapi-password-file  file holding the XAPI password (or env XAPI_PASSWORD)
  --controller          controller gRPC address; with replicas, a comma-separated list of them: the
                        agent uses one that answers and moves to the next when it cannot be reached
  --token-file          file holding the agent token (or env AGGREGATES_AGENT_TOKEN); callers of this
                        agent must present it too, unless --controller-token-file is given
  --controller-token-file  file holding the controller's own token (or env AGGREGATES_CONTROLLER_TOKEN):
                        then only that token may call this agent (recommended)
  --heartbeat-interval  seconds between heartbeats until the controller names its interval
  --tls-cert/--tls-key  serve TLS; --tls-client-ca also accepts controller client certificates (mTLS)
  --controller-ca/-cert/-key  TLS to the controller (CA to trust, client certificate for mTLS)
  --xapi-ca             CA (or host certificate) to trust for an https XAPI URL
  --metrics-listen      serve Prometheus metrics at http://HOST:PORT/metrics (plain HTTP, no token:
                        bind it to a trusted management address; default off; docs/metrics.md)
  --hook NAME=PATH      an executable RunHook may run under NAME (repeatable; absolute path; run with no
                        shell, no arguments and a fixed environment; the controller sends only NAME)
  --hook-timeout        seconds a hook may run before it is killed (default 3600)`;

/** A command-line mistake (exit status 2). */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** What the command line asks for. */
export type CliRequest = { help: true } | { help: false; options: AgentOptions };

function secretFrom(file: string | undefined, env: string | undefined, what: string, flag: string, envName: string): string {
  let value: string | undefined;
  if (file) {
    try {
      value = readFileSync(file, "utf8").replace(/\r?\n$/, "");
    } catch (err) {
      throw new UsageError(`${flag}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
    }
  } else value = env;
  if (!value) throw new UsageError(`the ${what} is required: ${flag} FILE or ${envName}`);
  return value;
}

function seconds(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag}: expected a positive number of seconds, got "${value}"`);
  return Math.round(n * 1000);
}

function required(value: string | undefined, flag: string): string {
  if (!value) throw new UsageError(`${flag} is required`);
  return value;
}

/** The flags; every one but help is also a config-file key (shared/config-file.ts). */
export const agentOptions = {
  listen: { type: "string" },
  "advertise-endpoint": { type: "string" },
  "host-name": { type: "string" },
  "xapi-url": { type: "string" },
  "xapi-username": { type: "string", default: "root" },
  "xapi-password-file": { type: "string" },
  controller: { type: "string" },
  "token-file": { type: "string" },
  "controller-token-file": { type: "string" },
  "availability-zone": { type: "string" },
  "heartbeat-interval": { type: "string" },
  "poll-interval": { type: "string" },
  "call-timeout": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "tls-client-ca": { type: "string" },
  "controller-ca": { type: "string" },
  "controller-cert": { type: "string" },
  "controller-key": { type: "string" },
  "xapi-ca": { type: "string" },
  "metrics-listen": { type: "string" },
  hook: { type: "string", multiple: true },
  "hook-timeout": { type: "string" },
  help: { type: "boolean", short: "h" },
} satisfies NonNullable<ParseArgsConfig["options"]>;

/** Parses argv (without node and script) and the environment; throws UsageError on mistakes. */
export function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv): CliRequest {
  let values;
  try {
    values = parseArgsWithConfig(argv, agentOptions, ["help"]);
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  if (values.help) return { help: true };

  const listen = required(values.listen, "--listen");
  const controller = required(values.controller, "--controller");
  const checkAddress = (value: string, flag: string) => {
    try {
      parseHostPort(value, flag);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  };
  checkAddress(listen, "--listen");
  try {
    parseHostPortList(controller, "--controller");
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values["advertise-endpoint"]) checkAddress(values["advertise-endpoint"], "--advertise-endpoint");
  if (values["metrics-listen"] !== undefined) checkAddress(values["metrics-listen"], "--metrics-listen");
  const hostName = required(values["host-name"], "--host-name");
  if (!/^[a-zA-Z0-9-._]{1,255}$/.test(hostName)) throw new UsageError("--host-name must match ^[a-zA-Z0-9-._]{1,255}$");
  const xapiUrl = required(values["xapi-url"], "--xapi-url");
  try {
    parseXapiUrl(xapiUrl);
  } catch (err) {
    throw new UsageError(`--xapi-url: ${(err as Error).message}`);
  }
  if (Boolean(values["tls-cert"]) !== Boolean(values["tls-key"])) throw new UsageError("--tls-cert and --tls-key go together");
  if (values["tls-client-ca"] && !values["tls-cert"]) throw new UsageError("--tls-client-ca needs --tls-cert and --tls-key");
  if (Boolean(values["controller-cert"]) !== Boolean(values["controller-key"])) throw new UsageError("--controller-cert and --controller-key go together");

  const xapiPassword = secretFrom(values["xapi-password-file"], env.XAPI_PASSWORD, "XAPI password", "--xapi-password-file", "XAPI_PASSWORD");
  const token = secretFrom(values["token-file"], env.AGGREGATES_AGENT_TOKEN, "agent token", "--token-file", "AGGREGATES_AGENT_TOKEN").trim();
  const controllerToken =
    values["controller-token-file"] || env.AGGREGATES_CONTROLLER_TOKEN
      ? secretFrom(values["controller-token-file"], env.AGGREGATES_CONTROLLER_TOKEN, "controller token", "--controller-token-file", "AGGREGATES_CONTROLLER_TOKEN").trim()
      : undefined;

  let hooks;
  try {
    hooks = parseHookFlags(values.hook ?? []);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }

  let server, controllerTls, xapiCa;
  try {
    server = values["tls-cert"] ? loadServerTls({ cert: values["tls-cert"], key: values["tls-key"]!, clientCa: values["tls-client-ca"] }) : undefined;
    controllerTls = loadClientTls({ ca: values["controller-ca"], cert: values["controller-cert"], key: values["controller-key"] });
    xapiCa = values["xapi-ca"] ? readFileSync(values["xapi-ca"]) : undefined;
  } catch (err) {
    throw new UsageError(`cannot read a TLS file: ${(err as Error).message}`);
  }

  return {
    help: false,
    options: {
      listen,
      advertiseEndpoint: values["advertise-endpoint"],
      hostName,
      xapiUrl,
      xapiUsername: values["xapi-username"],
      xapiPassword,
      controller,
      token,
      controllerToken,
      availabilityZone: values["availability-zone"],
      heartbeatIntervalMs: seconds(values["heartbeat-interval"], "--heartbeat-interval"),
      pollIntervalMs: seconds(values["poll-interval"], "--poll-interval"),
      callTimeoutMs: seconds(values["call-timeout"], "--call-timeout"),
      tls: { server, controller: controllerTls, xapi: xapiCa ? { ca: xapiCa } : undefined },
      metricsListen: values["metrics-listen"],
      processMetrics: true,
      hooks,
      hookTimeoutMs: seconds(values["hook-timeout"], "--hook-timeout"),
    },
  };
}
