/**
 * OpenStack Nova's os-aggregates API as a benchmark peer, run by shared/tools/nova-peer.sh
 * (Debian's Nova 26 + Placement on 127.0.0.1, SQLite, noauth2).
 *
 * The script's databases take about a minute to create, so a run keeps its work directory
 * (default $TMPDIR/host-aggregates-bench-nova) with a pristine copy of the freshly created
 * databases, and starts later runs from that copy: every run sees an empty Nova.
 */
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { onCleanup, startChild } from "./children.js";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const databases = ["nova_api.sqlite", "nova_cell0.sqlite", "nova_cell1.sqlite", "placement.sqlite"];

/** A running Nova API. */
export interface NovaPeer {
  /** e.g. http://127.0.0.1:PORT/v2.1 */
  baseUrl: string;
  headers: Record<string, string>;
  /** nova-api's processes (the parent and its workers), for CPU accounting; empty when unknown. */
  pids: number[];
  stop(): Promise<void>;
}

/** A process and its children (Linux /proc), or [] when the process is unknown. */
function withChildren(pid: number): number[] {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    return [pid, ...children.flatMap(withChildren)];
  } catch {
    return [];
  }
}

/** Where nova-peer.sh is (NOVA_PEER_SCRIPT overrides). */
export function novaPeerScript(): string {
  return process.env.NOVA_PEER_SCRIPT ?? resolve(repoRoot, "../shared/tools/nova-peer.sh");
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const server = createServer();
    server.once("error", () => resolvePort(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolvePort(true)));
  });
}

/** A port P with P and P+4 (placement) free on 127.0.0.1. */
async function freePortPair(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    if ((await portFree(port)) && (await portFree(port + 4))) return port;
  }
  throw new Error("no free port pair for Nova");
}

function novaInstalled(): boolean {
  const r = spawnSync("dpkg-query", ["-W", "-f=${Status}", "python3-nova"], { encoding: "utf8" });
  return r.status === 0 && r.stdout.includes("install ok installed");
}

function runScript(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolveRun) => {
    const child = spawn(script, args, { env, stdio: "ignore" });
    child.once("error", () => resolveRun());
    child.once("exit", () => resolveRun());
  });
}

/** Starts Nova with empty databases; `progress` receives notes. Its servers are stopped at the end of the run. */
export async function startNovaPeer(progress: (note: string) => void): Promise<NovaPeer> {
  const script = novaPeerScript();
  if (!existsSync(script)) throw new Error(`${script} not found (set NOVA_PEER_SCRIPT)`);
  const dir = process.env.BENCH_NOVA_DIR ?? join(tmpdir(), "host-aggregates-bench-nova");
  const pristine = join(dir, "pristine");
  mkdirSync(dir, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env, NOVA_PEER_DIR: dir };
  const installed = novaInstalled();
  if (installed) env.NOVA_PEER_SKIP_APT = "1";

  const port = await freePortPair();
  const stop = () => runScript(script, ["stop", String(port)], env);
  await stop(); // servers a killed run may have left behind (their pid files are in dir)
  onCleanup(stop);

  const havePristine = databases.every((f) => existsSync(join(pristine, f)));
  for (const f of databases) {
    if (havePristine) copyFileSync(join(pristine, f), join(dir, f));
    else rmSync(join(dir, f), { force: true });
    rmSync(join(dir, `${f}-journal`), { force: true });
  }
  progress(
    `starting Nova (nova-peer.sh on 127.0.0.1:${port})` +
      (installed ? "" : "; installing Debian's Nova packages first, this takes minutes") +
      (havePristine ? "" : "; creating its databases (about a minute, once)"),
  );
  const child = await startChild({
    name: "nova-peer.sh",
    command: script,
    args: [String(port), "0"],
    env,
    readyPattern: /^nova-api\s*:\s*(http:\/\/\S+)/,
    readyTimeoutMs: 15 * 60_000,
  });
  const baseUrl = child.ready[1]!;
  await new Promise<void>((r) => (child.process.exitCode !== null ? r() : child.process.once("exit", () => r())));
  if (child.process.exitCode !== 0) throw new Error(`nova-peer.sh failed (exit ${child.process.exitCode})\n${child.stderrTail()}`);

  if (!havePristine) {
    mkdirSync(pristine, { recursive: true });
    for (const f of databases) {
      const db = new Database(join(dir, f), { readonly: true, fileMustExist: true });
      try {
        await db.backup(join(pristine, f));
      } finally {
        db.close();
      }
    }
  }
  let pids: number[] = [];
  try {
    pids = withChildren(Number(readFileSync(join(dir, "nova-api.pid"), "utf8").trim()));
  } catch {
    // CPU figures are then left out
  }
  return { baseUrl, headers: { "x-auth-token": "admin:admin", "x-openstack-nova-api-version": "2.41" }, pids, stop };
}

/** One Nova REST call (not measured); throws on a non-2xx answer. */
export async function novaCall(peer: NovaPeer, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(peer.baseUrl + path, {
    method,
    headers: { ...peer.headers, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`Nova ${method} ${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : undefined;
}
