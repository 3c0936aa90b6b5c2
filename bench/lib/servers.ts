/** The servers a benchmark measures, each started as its own process on 127.0.0.1, port 0. */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startChild, type Child } from "./children.js";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

/** What bin/aggregates-controller runs (bin/lib/launch.sh): the production build in dist/ when there is one, else the sources through tsx. */
export function controllerBuild(): "dist/ (production build)" | "tsx (sources)" {
  return existsSync(join(repoRoot, "dist/controller/main.js")) ? "dist/ (production build)" : "tsx (sources)";
}

/** A running controller process with its own database and random tokens. */
export interface ControllerProcess {
  child: Child;
  /** "127.0.0.1:PORT" */
  address: string;
  adminToken: string;
  agentToken: string;
  dbPath: string;
  /** The os-aggregates REST base URL (".../v2.1"), when started with `rest`. */
  restBaseUrl?: string;
}

/** Options of startControllerProcess. */
export interface ControllerProcessOptions {
  /** Directory for the database (created). */
  dir: string;
  /** The database instead (a postgres:// URL); default a SQLite file in dir. */
  db?: string;
  /** Extra command-line flags. */
  args?: string[];
  /** Write a V8 CPU profile of the controller into this directory when it exits. */
  cpuProfileDir?: string;
  /** Also serve HTTP (the os-aggregates REST facade) on a free port. */
  rest?: boolean;
  /** The tokens to use (default: new random ones), e.g. to restart a controller its clients keep talking to. */
  tokens?: { adminToken: string; agentToken: string };
}

/** Starts `bin/aggregates-controller` (gRPC only, reconciler off) and waits until it serves. */
export async function startControllerProcess(options: ControllerProcessOptions): Promise<ControllerProcess> {
  mkdirSync(options.dir, { recursive: true });
  const dbPath = options.db ?? join(options.dir, "controller.db");
  const { adminToken, agentToken } = options.tokens ?? { adminToken: randomBytes(24).toString("base64url"), agentToken: randomBytes(24).toString("base64url") };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AGGREGATES_ADMIN_TOKEN: adminToken,
    AGGREGATES_AGENT_TOKEN: agentToken,
    AGGREGATES_LOG_LEVEL: "warn",
  };
  const flags = ["--listen", "127.0.0.1:0", "--http-listen", options.rest ? "127.0.0.1:0" : "off", "--db", dbPath, "--reconcile-interval", "0", ...(options.args ?? [])];
  // --cpu-prof is not allowed in NODE_OPTIONS, so a profiled controller is started the way the
  // launcher would start it (dist/ when built, else the sources through tsx) with the flag added.
  let command = join(repoRoot, "bin/aggregates-controller");
  let args = flags;
  if (options.cpuProfileDir) {
    mkdirSync(options.cpuProfileDir, { recursive: true });
    command = process.execPath;
    const entry = controllerBuild() === "tsx (sources)" ? ["--import", "tsx", join(repoRoot, "controller/main.ts")] : [join(repoRoot, "dist/controller/main.js")];
    args = ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfileDir}`, ...entry, ...flags];
  }
  // The HTTP address is printed after the gRPC one; with `rest`, readiness is that later line.
  let grpcAddress = "";
  const child = await startChild({
    name: "controller",
    command,
    args,
    env,
    cwd: repoRoot,
    readyPattern: options.rest ? /Connect\/JSON \(curl\) on (\S+)/ : /controller serving gRPC on (\S+)/,
    onEarlyLine: (line) => (grpcAddress = /controller serving gRPC on (\S+)/.exec(line)?.[1] ?? grpcAddress),
  });
  if (!options.rest) return { child, address: child.ready[1]!, adminToken, agentToken, dbPath };
  return { child, address: grpcAddress, adminToken, agentToken, dbPath, restBaseUrl: `${child.ready[1]!}/v2.1` };
}

/** A running echo server (bench/echo-server.ts). */
export interface EchoProcess {
  child: Child;
  address: string;
}

/** Starts one of the bench's own servers (bench/SCRIPT.ts, through tsx, on 127.0.0.1 port 0) and waits for its ready line. */
async function startBenchServer(spec: { name: string; script: string; args: string[]; readyPattern: RegExp; env?: NodeJS.ProcessEnv }): Promise<EchoProcess> {
  const child = await startChild({
    name: spec.name,
    command: process.execPath,
    args: ["--import", "tsx", join(repoRoot, `bench/${spec.script}.ts`), "--listen", "127.0.0.1:0", ...spec.args],
    cwd: repoRoot,
    env: spec.env ?? process.env,
    readyPattern: spec.readyPattern,
  });
  return { child, address: child.ready[1]! };
}

/** Starts the echo server answering these pre-built messages (files of protobuf binary). */
export async function startEchoProcess(files: { aggregate?: string; list?: string } = {}): Promise<EchoProcess> {
  const args: string[] = [];
  if (files.aggregate) args.push("--aggregate", files.aggregate);
  if (files.list) args.push("--list", files.list);
  return startBenchServer({ name: "echo server", script: "echo-server", args, readyPattern: /echo serving gRPC on (\S+)/, env: { ...process.env, AGGREGATES_LOG_LEVEL: "warn" } });
}

/**
 * Starts the raw grpc-js server (bench/raw-grpc-server.ts) answering these pre-built messages: decoded and
 * encoded again on every call, or with `asBytes` sent as they are; with `db`, each write also commits a row to that SQLite file first.
 */
export async function startRawGrpcProcess(files: { aggregate: string; list: string; db?: string; asBytes?: boolean }): Promise<EchoProcess> {
  const args = ["--aggregate", files.aggregate, "--list", files.list];
  if (files.db) args.push("--db", files.db);
  if (files.asBytes) args.push("--as-bytes");
  const name = files.db ? "raw grpc-js server with a SQLite commit per write" : "raw grpc-js server";
  return startBenchServer({ name, script: "raw-grpc-server", args, readyPattern: /raw grpc-js serving gRPC on (\S+)/ });
}

/**
 * Starts the raw node:http2 gRPC responder (bench/raw-h2-grpc-server.ts) answering these files' bytes, with no
 * gRPC library; with `db`, each write also commits a row first.
 */
export async function startRawH2GrpcProcess(files: { aggregate: string; list: string; db?: string }): Promise<EchoProcess> {
  const args = ["--aggregate", files.aggregate, "--list", files.list];
  if (files.db) args.push("--db", files.db);
  return startBenchServer({ name: "raw node:http2 gRPC server", script: "raw-h2-grpc-server", args, readyPattern: /raw node:http2 serving gRPC on (\S+)/ });
}

/** Starts the raw node:http server (bench/raw-http-server.ts) answering these JSON files as they are; with `db`, each write also commits a row first. Its address is its base URL (http://HOST:PORT). */
export async function startRawHttpProcess(files: { aggregate: string; list: string; db?: string }): Promise<EchoProcess> {
  const args = ["--aggregate", files.aggregate, "--list", files.list];
  if (files.db) args.push("--db", files.db);
  return startBenchServer({ name: "raw node:http server", script: "raw-http-server", args, readyPattern: /raw node:http serving HTTP on (\S+)/ });
}
