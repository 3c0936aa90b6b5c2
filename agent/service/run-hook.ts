/**
 * RunHook: runs an executable configured on the agent under a name (`--hook NAME=PATH`). The caller
 * only names it: no path, argument or environment from the request ever reaches the process. It
 * runs without a shell, with no arguments, a small fixed environment (never the agent's secrets),
 * a bounded time, and only the tail of its output is kept.
 */
import { spawn } from "node:child_process";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RunHookResponseSchema } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import { invalidArgument, notFound } from "../../shared/errors.js";
import { hookNamePattern } from "../../shared/hook-name.js";

type RunHookResponseInit = MessageInitShape<typeof RunHookResponseSchema>;

/** The hooks an agent may run, and how. */
export interface HookSettings {
  /** Executable path by hook name. */
  hooks: ReadonlyMap<string, string>;
  /** Longest run before the hook is killed (SIGKILL). */
  timeoutMs: number;
  /** Bytes of output kept (the last ones). */
  tailBytes: number;
}

/** Default bounds: one hour, 4 KiB of output. */
export const defaultHookSettings = { timeoutMs: 3_600_000, tailBytes: 4096 } as const;

/** No hook configured: every name is NOT_FOUND. */
export const noHooks: HookSettings = { hooks: new Map(), ...defaultHookSettings };


/** Parses `NAME=PATH` values of --hook into the map (throws on a malformed or repeated name). */
export function parseHookFlags(values: readonly string[]): Map<string, string> {
  const hooks = new Map<string, string>();
  for (const value of values) {
    const eq = value.indexOf("=");
    const name = eq > 0 ? value.slice(0, eq) : "";
    const path = eq > 0 ? value.slice(eq + 1) : "";
    if (!hookNamePattern.test(name)) throw new Error(`--hook: expected NAME=PATH with NAME matching ${hookNamePattern.source}, got "${value}"`);
    if (!path.startsWith("/")) throw new Error(`--hook ${name}: the path must be absolute, got "${path}"`);
    if (hooks.has(name)) throw new Error(`--hook ${name} is given twice`);
    hooks.set(name, path);
  }
  return hooks;
}

/** Keeps the last `limit` bytes written to it. */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit: number) {}
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - (this.chunks[0]?.length ?? 0) >= this.limit && this.chunks.length > 1) this.size -= this.chunks.shift()!.length;
  }
  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString("utf8").replace(/^\uFFFD+/, "");
  }
}

/** Runs the hook `name`; resolves with how it ended (a non-zero exit is a result, not an error). */
export async function runHook(settings: HookSettings, name: string, hostName: string, signal: AbortSignal): Promise<RunHookResponseInit> {
  if (!hookNamePattern.test(name)) throw invalidArgument([{ field: "name", description: `a hook name matches ${hookNamePattern.source}` }]);
  const path = settings.hooks.get(name);
  if (path === undefined) throw notFound(`no hook named "${name}" is configured on ${hostName} (agent flag --hook ${name}=PATH)`);
  const started = performance.now();
  const tail = new Tail(settings.tailBytes);
  return await new Promise<RunHookResponseInit>((resolve) => {
    let timedOut = false;
    const child = spawn(path, [], {
      shell: false,
      // Its own process group, so a timeout or cancellation kills what it started too.
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C.UTF-8", AGGREGATES_HOST_NAME: hostName, AGGREGATES_HOOK: name },
    });
    const kill = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    };
    const timer = setTimeout(() => ((timedOut = true), kill()), settings.timeoutMs);
    signal.addEventListener("abort", kill, { once: true });
    child.stdout.on("data", (c: Buffer) => tail.push(c));
    child.stderr.on("data", (c: Buffer) => tail.push(c));
    const finish = (exitCode: number, sig: string, extra = "") => {
      clearTimeout(timer);
      signal.removeEventListener("abort", kill);
      resolve({ exitCode, signal: sig, timedOut, outputTail: tail.text() + extra, durationMs: BigInt(Math.round(performance.now() - started)) });
    };
    child.on("error", (err: NodeJS.ErrnoException) => finish(-1, "", `cannot run ${path}: ${err.code ?? err.message}`));
    child.on("close", (code, sig) => finish(code ?? -1, sig ?? ""));
  });
}
