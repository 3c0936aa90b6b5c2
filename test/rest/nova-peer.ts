/**
 * The live Nova peer for differential tests: the real nova-api (Debian's Nova, noauth2, SQLite,
 * fake compute hosts compute1..computeN) started by shared/tools/nova-peer.sh beside the repository
 * on a free port and a fresh work directory, and stopped again. When it cannot run here the start
 * answers why instead (the tests skip with that reason, or fail under CI).
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const root = new URL("../..", import.meta.url).pathname;
/** The script, beside the repository (as CI lays shared/ out), unless NOVA_PEER_SCRIPT names another. */
export const novaPeerScript = process.env.NOVA_PEER_SCRIPT ?? join(root, "..", "shared", "tools", "nova-peer.sh");

/** A running Nova peer. */
export interface NovaPeer {
  /** Base URL of the compute API, e.g. http://127.0.0.1:PORT/v2.1. */
  url: string;
  stop(): Promise<void>;
}

const run = promisify(execFile);

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A port P with P and P+4 (placement) free. */
async function freePorts(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    if ((await portFree(port)) && (await portFree(port + 4))) return port;
  }
  throw new Error("no free port pair for the Nova peer");
}

async function novaImportable(): Promise<boolean> {
  try {
    await run("/usr/bin/python3", ["-c", "import nova, placement"], { timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
}

/** Starts the peer with `hosts` fake compute hosts; resolves to it, or to the reason it cannot run. */
export async function startNovaPeer(hosts: number): Promise<NovaPeer | { reason: string }> {
  if (!existsSync(novaPeerScript)) return { reason: `${novaPeerScript} is not there (shared/tools beside the repository)` };
  const installed = await novaImportable();
  if (!installed && process.getuid?.() !== 0) return { reason: "Debian's python3-nova is not installed and installing it needs root" };
  const port = await freePorts();
  const dir = mkdtempSync(join(tmpdir(), "nova-peer-"));
  const env = { ...process.env, NOVA_PEER_DIR: dir, ...(installed ? { NOVA_PEER_SKIP_APT: "1" } : {}) };
  const stop = async () => {
    await run("bash", [novaPeerScript, "stop", String(port)], { env, timeout: 30_000 }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  const output = await new Promise<{ code: number | null; text: string }>((resolve) => {
    const child = spawn("bash", [novaPeerScript, String(port), String(hosts)], { env, stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    child.stdout.on("data", (d: Buffer) => (text += d.toString()));
    child.stderr.on("data", (d: Buffer) => (text += d.toString()));
    child.once("exit", (code) => resolve({ code, text }));
  });
  if (output.code !== 0) {
    await stop();
    return { reason: `nova-peer.sh exited ${output.code}: ${output.text.trim().split("\n").slice(-5).join(" | ")}` };
  }
  return { url: `http://127.0.0.1:${port}/v2.1`, stop };
}
