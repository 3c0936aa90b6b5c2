/**
 * grpcurl_mini (a grpcurl stand-in on Debian's python3-grpcio, python3-grpc-tools, python3-protobuf and
 * grpc-proto) from the project's tool folder beside the checkout (../shared), wherever the checkout is.
 */
import { execFile, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const python = "/usr/bin/python3";
const script = process.env.GRPCURL_MINI ?? fileURLToPath(new URL("../../../shared/tools/grpcurl_mini.py", import.meta.url));

/** Why grpcurl_mini cannot run here, or undefined when it can. */
export const grpcurlMissing: string | undefined = (() => {
  if (!existsSync(python)) return `${python} is missing`;
  if (!existsSync(script)) return `${script} is missing`;
  const probe = spawnSync(python, ["-c", "import grpc, grpc_tools, google.protobuf"], { encoding: "utf8" });
  if (probe.status !== 0) return "python3-grpcio / python3-grpc-tools / python3-protobuf are not installed";
  if (!existsSync("/usr/share/grpc-proto/grpc/reflection/v1/reflection.proto")) return "grpc-proto is not installed";
  return undefined;
})();

/** What one grpcurl_mini run printed. */
export interface GrpcurlResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/** Runs `grpcurl_mini -plaintext ARGS…` (15 s at most). */
export async function grpcurl(...args: string[]): Promise<GrpcurlResult> {
  try {
    const { stdout } = await run(python, [script, "-plaintext", ...args], { timeout: 15_000 });
    return { ok: true, stdout, stderr: "" };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, stdout: e.stdout ?? "", stderr: e.stderr ?? String(err) };
  }
}
