/** Daemons of the product as child processes (bin/ launchers), started and stopped by signal; used by the fault campaign and the interruption tests. */
import { spawn, type ChildProcess } from "node:child_process";

const root = new URL("..", import.meta.url).pathname;

/** How a process ended. */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process, with everything it printed. */
export class Daemon {
  private text = "";
  readonly exited: Promise<ExitStatus>;

  private constructor(
    readonly child: ChildProcess,
    private readonly group: boolean,
  ) {
    child.stdout!.on("data", (d: Buffer) => (this.text += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (this.text += d.toString()));
    this.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  }

  /** Starts a command and resolves once its output matches `ready` (with the match). */
  static start(
    command: string,
    args: string[],
    options: { ready: RegExp; env?: Record<string, string>; group?: boolean; timeoutMs?: number },
  ): Promise<{ daemon: Daemon; match: RegExpExecArray }> {
    const child = spawn(command, args, { cwd: root, env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"], detached: options.group ?? false });
    const daemon = new Daemon(child, options.group ?? false);
    const timeoutMs = options.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (why: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        void daemon.stop("SIGKILL");
        reject(new Error(`${command} ${why}:\n${daemon.output()}`));
      };
      const timer = setTimeout(() => fail(`printed nothing matching ${options.ready} within ${timeoutMs} ms`), timeoutMs);
      const check = () => {
        const match = options.ready.exec(daemon.text);
        if (!match || settled) return;
        settled = true;
        clearTimeout(timer);
        child.stdout!.off("data", check);
        resolve({ daemon, match });
      };
      child.stdout!.on("data", check);
      child.once("error", (err) => fail(`could not start: ${err.message}`));
      void daemon.exited.then((s) => fail(`exited (code ${s.code}, signal ${s.signal}) before it was ready`));
    });
  }

  /** Everything it printed so far. */
  output(): string {
    return this.text;
  }

  /** Sends a signal (to its whole process group when started as one, as a terminal's Ctrl-C does) and waits for the exit. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<ExitStatus> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      try {
        if (this.group) process.kill(-this.child.pid!, signal);
        else this.child.kill(signal);
      } catch {
        // already gone
      }
    }
    return this.exited;
  }
}
