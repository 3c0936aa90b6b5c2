/** Runs load specs in the load-client child process (one process for the whole run). */
import { fileURLToPath } from "node:url";
import { startChild, type Child } from "./children.js";
import type { LoadResult, LoadSpec } from "./load-spec.js";

/** Talks to bench/load-client.ts over JSON lines on its stdin/stdout. */
export class LoadDriver {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: LoadResult[]) => void; reject: (e: Error) => void }>();

  private constructor(private readonly child: Child) {
    child.process.once("exit", (code, signal) => {
      for (const p of this.pending.values()) p.reject(new Error(`load client exited (${signal ?? `code ${code}`})\n${child.stderrTail()}`));
      this.pending.clear();
    });
  }

  /** Starts the load-client process. */
  static async start(): Promise<LoadDriver> {
    const script = fileURLToPath(new URL("../load-client.ts", import.meta.url));
    let driver: LoadDriver | undefined;
    const child = await startChild({
      name: "load client",
      command: process.execPath,
      args: ["--import", "tsx", script],
      readyPattern: /^load-client ready$/,
      stdinPipe: true,
      onLine: (line) => driver?.answer(line),
    });
    driver = new LoadDriver(child);
    return driver;
  }

  private answer(line: string): void {
    let message: { id: number; result?: LoadResult; results?: LoadResult[]; error?: string };
    try {
      message = JSON.parse(line) as typeof message;
    } catch {
      return;
    }
    const waiter = this.pending.get(message.id);
    if (!waiter) return;
    this.pending.delete(message.id);
    const results = message.results ?? (message.result ? [message.result] : undefined);
    if (results) waiter.resolve(results);
    else waiter.reject(new Error(`load client: ${message.error ?? "no result"}`));
  }

  /** Runs one spec; resolves with the measured result. Bounded by the spec (plus a safety margin). */
  async run(spec: LoadSpec): Promise<LoadResult> {
    return (await this.send({ spec }, [spec]))[0]!;
  }

  /** Runs the specs at the same time (e.g. reads of several kinds during one load); resolves with their results in order. */
  runTogether(specs: LoadSpec[]): Promise<LoadResult[]> {
    return this.send({ specs }, specs);
  }

  private send(request: { spec: LoadSpec } | { specs: LoadSpec[] }, specs: LoadSpec[]): Promise<LoadResult[]> {
    const id = this.nextId++;
    const limitMs = Math.max(
      ...specs.map((spec) => (spec.maxSeconds + 30) * 1000 + (spec.warmupCalls * (spec.callTimeoutMs ?? 10_000)) / Math.max(1, spec.concurrency)),
    );
    return new Promise<LoadResult[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`load run ${id} did not finish within ${Math.round(limitMs / 1000)} s`));
      }, limitMs);
      this.pending.set(id, {
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.child.process.stdin!.write(JSON.stringify({ id, ...request }) + "\n");
    });
  }

  /** Ends the load-client process. */
  stop(): Promise<void> {
    return this.child.stop(2000);
  }
}
