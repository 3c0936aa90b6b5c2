/**
 * Child processes of a benchmark run: started with a readiness line, tracked, and all ended
 * at the end of the run, on error and on SIGINT/SIGTERM.
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { createInterface } from "node:readline";

/** A started child process. */
export interface Child {
  name: string;
  process: ChildProcess;
  /** The match of the readiness pattern on the child's stdout. */
  ready: RegExpExecArray;
  /** The last lines the child wrote to stderr (for error messages). */
  stderrTail(): string;
  /** Ends the child: SIGTERM, then SIGKILL after graceMs. Resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** What to start. */
export interface ChildSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** A stdout line matching this means the child is ready. */
  readyPattern: RegExp;
  /** How long to wait for readiness (default 30 s). */
  readyTimeoutMs?: number;
  /** Keep stdin open as a pipe (default: ignored). */
  stdinPipe?: boolean;
  /** Called with every stdout line after readiness (default: dropped). */
  onLine?: (line: string) => void;
  /** Called with every stdout line before readiness, the ready line excepted. */
  onEarlyLine?: (line: string) => void;
}

const live = new Set<Child>();
const cleanups: (() => Promise<void> | void)[] = [];

/** Registers work to run once when the run ends (after every child was stopped). */
export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Starts a child and waits for its readiness line. Fails with its stderr when it exits first or times out. */
export async function startChild(spec: ChildSpec): Promise<Child> {
  const options: SpawnOptions = {
    cwd: spec.cwd,
    env: spec.env ?? process.env,
    stdio: [spec.stdinPipe ? "pipe" : "ignore", "pipe", "pipe"],
  };
  const proc = spawn(spec.command, spec.args, options);
  const tail: string[] = [];
  createInterface({ input: proc.stderr! }).on("line", (line) => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
  });
  const exitedPromise = new Promise<void>((resolve) => {
    if (exited(proc)) resolve();
    else proc.once("exit", () => resolve());
  });
  const stderrTail = () => tail.join("\n");

  let child!: Child;
  const stop = async (graceMs = 5000) => {
    if (!exited(proc)) {
      proc.kill("SIGTERM");
      const timer = setTimeout(() => {
        if (!exited(proc)) proc.kill("SIGKILL");
      }, graceMs);
      await exitedPromise;
      clearTimeout(timer);
    }
    live.delete(child);
  };

  const ready = await new Promise<RegExpExecArray>((resolve, reject) => {
    let done = false;
    const lines = createInterface({ input: proc.stdout! });
    const finish = (err: Error | undefined, match?: RegExpExecArray) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(match!);
    };
    const timer = setTimeout(
      () => finish(new Error(`${spec.name} did not become ready within ${(spec.readyTimeoutMs ?? 30_000) / 1000} s\n${stderrTail()}`)),
      spec.readyTimeoutMs ?? 30_000,
    );
    lines.on("line", (line) => {
      if (!done) {
        const match = spec.readyPattern.exec(line);
        if (match) finish(undefined, match);
        else spec.onEarlyLine?.(line);
      } else {
        spec.onLine?.(line);
      }
    });
    proc.once("error", (err) => finish(new Error(`${spec.name} could not be started: ${err.message}`)));
    proc.once("exit", (code, signal) =>
      finish(new Error(`${spec.name} exited (${signal ?? `code ${code}`}) before it was ready\n${stderrTail()}`)),
    );
  }).catch(async (err: unknown) => {
    if (!exited(proc)) proc.kill("SIGKILL");
    await exitedPromise;
    throw err;
  });

  child = { name: spec.name, process: proc, ready, stderrTail, stop };
  live.add(child);
  return child;
}

let ending: Promise<void> | undefined;

/** Stops every live child, then runs the cleanups. Safe to call more than once. */
export function stopAll(): Promise<void> {
  return (ending ??= (async () => {
    await Promise.all([...live].map((c) => c.stop().catch(() => undefined)));
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        console.error(`cleanup failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  })());
}

/** On SIGINT/SIGTERM: stop every child, clean up, and exit 130/143. */
export function stopAllOnSignals(): void {
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping the benchmark's processes…`);
      void stopAll().finally(() => process.exit(code));
    });
  }
  // Last resort if the run dies without going through stopAll: no orphan servers.
  process.once("exit", () => {
    for (const c of live) if (!exited(c.process)) c.process.kill("SIGKILL");
  });
}
