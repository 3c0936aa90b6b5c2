/**
 * Test harness: the controller as a separate OS process, started through bin/aggregates-controller
 * on loopback port 0. Resolves once the daemon printed both its addresses (no fixed sleeps).
 *
 *   writeTokensFile(path, [{ token: "t", role: "admin" }]);
 *   const p = await spawnController({ dbPath, tokensFile: path });
 *   ... createRpcClient(AggregateService, { endpoint: p.grpcEndpoint, token: "t" }) ...
 *   await p.kill("SIGKILL"); // or "SIGTERM" for a graceful stop; resolves with the exit status
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Role } from "../../shared/auth.js";

/** Path of the controller launcher. */
export const controllerBin = fileURLToPath(new URL("../../bin/aggregates-controller", import.meta.url));

import type { ExitStatus } from "../../chaos/daemon.js";

/** How a process ended. */
export type { ExitStatus };

/** A running controller process. */
export interface ControllerProcess {
  pid: number;
  /** "127.0.0.1:PORT" of the gRPC endpoint. */
  grpcEndpoint: string;
  /** "http://127.0.0.1:PORT" of the Connect/JSON endpoint. */
  httpUrl: string;
  /** Resolves when the process has exited. */
  exited: Promise<ExitStatus>;
  /** Everything the process wrote so far. */
  output(): { stdout: string; stderr: string };
  /** Sends a signal (no-op once exited) and resolves when the process has exited. */
  kill(signal: "SIGKILL" | "SIGTERM" | "SIGINT"): Promise<ExitStatus>;
}

/** Writes a tokens file in the format of --tokens-file. */
export function writeTokensFile(path: string, tokens: { token: string; role: Role }[]): void {
  writeFileSync(path, JSON.stringify(tokens), { mode: 0o600 });
}

/** Starts bin/aggregates-controller and waits until it serves (or fails after timeoutMs). */
export function spawnController(options: {
  dbPath: string;
  tokensFile: string;
  extraArgs?: string[];
  timeoutMs?: number;
}): Promise<ControllerProcess> {
  const args = ["--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0", "--db", options.dbPath, "--tokens-file", options.tokensFile];
  // Token variables of the test runner's environment must not add tokens to the child.
  const env = { ...process.env, AGGREGATES_ADMIN_TOKEN: "", AGGREGATES_AGENT_TOKEN: "", AGGREGATES_METRICS_TOKEN: "", AGGREGATES_LOG_LEVEL: "warn" };
  const child = spawn(controllerBin, [...args, ...(options.extraArgs ?? [])], { stdio: ["ignore", "pipe", "pipe"], env });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  const exited = new Promise<ExitStatus>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const kill = async (signal: "SIGKILL" | "SIGTERM" | "SIGINT") => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };

  return new Promise<ControllerProcess>((resolve, reject) => {
    let done = false;
    const fail = (why: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      void kill("SIGKILL");
      reject(new Error(`controller process ${why}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`));
    };
    const timer = setTimeout(() => fail(`did not print its addresses within ${options.timeoutMs ?? 15_000} ms`), options.timeoutMs ?? 15_000);
    const check = () => {
      if (done) return;
      const grpc = /^controller serving gRPC on (\S+:\d+)/m.exec(stdout);
      const http = /^Connect\/JSON \(curl\) on (http:\/\/\S+:\d+)/m.exec(stdout);
      if (!grpc || !http) return;
      done = true;
      clearTimeout(timer);
      resolve({
        pid: child.pid!,
        grpcEndpoint: grpc[1]!,
        httpUrl: http[1]!,
        exited,
        output: () => ({ stdout, stderr }),
        kill,
      });
    };
    child.stdout.on("data", (chunk: string) => {
      stdout += chunk;
      check();
    });
    child.stderr.on("data", (chunk: string) => (stderr += chunk));
    child.once("error", (err) => fail(`could not start: ${err.message}`));
    void exited.then((s) => fail(`exited before serving (code ${s.code}, signal ${s.signal})`));
  });
}
