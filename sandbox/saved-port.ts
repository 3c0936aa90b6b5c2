/**
 * A port the sandbox keeps across restarts of one state directory (the simulator's control API):
 * stored in a file there, reused when it is free, replaced by a free one when it is not.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The file in a state directory that holds the simulator's control port. */
export const simulatorControlPortFile = "simulator-control-port";

/** The port saved in `stateDir`'s file `name`, or 0 (any free port) when there is none or it is not a port. */
export function readSavedPort(stateDir: string, name: string): number {
  const path = join(stateDir, name);
  if (!existsSync(path)) return 0;
  const port = Number(readFileSync(path, "utf8").trim());
  return Number.isInteger(port) && port > 0 && port < 65536 ? port : 0;
}

/** Saves a port in `stateDir`'s file `name`. */
export function savePort(stateDir: string, name: string, port: number): void {
  writeFileSync(join(stateDir, name), `${port}\n`, { mode: 0o600 });
}

/**
 * Starts something on the saved port, or on any free port (0) when none is saved or the saved one is
 * taken (EADDRINUSE); saves the port it got, read back with `portOf`.
 */
export async function onSavedPort<T>(stateDir: string, name: string, start: (port: number) => Promise<T>, portOf: (started: T) => number): Promise<T> {
  const saved = readSavedPort(stateDir, name);
  let started: T;
  try {
    started = await start(saved);
  } catch (err) {
    if (saved === 0 || (err as NodeJS.ErrnoException).code !== "EADDRINUSE") throw err;
    started = await start(0);
  }
  savePort(stateDir, name, portOf(started));
  return started;
}
