/**
 * Builds the web console (Vite, controller/ui/ → dist/ui/) when the build is missing or older than
 * its sources. `npm start` (prestart) and the test suite's global setup run it, so a fresh checkout
 * serves the console after `npm install && npm start`; `npm run build:ui` always rebuilds.
 *
 *   node --import tsx controller/ui/build.ts [--if-stale]
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** The build's entry page; its modification time stamps the build. */
export const builtIndex = join(root, "dist/ui/index.html");

/** What the bundle is made of: the console's sources and what they import from the rest of the repository. */
const inputs = ["controller/ui", "gen", "shared", "cli", "package-lock.json"].map((p) => join(root, p));

function newestMtime(path: string): number {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** True when dist/ui/ is missing or older than one of its inputs. */
export function consoleBuildIsStale(): boolean {
  const built = statSync(builtIndex, { throwIfNoEntry: false });
  if (!built) return true;
  return inputs.some((p) => newestMtime(p) > built.mtimeMs);
}

/** Runs the Vite build; false (with a warning) when Vite is not installed or the build failed. */
export function buildConsole(log: (line: string) => void = (l) => console.error(l)): boolean {
  const vite = join(root, "node_modules/vite/bin/vite.js");
  if (!existsSync(vite)) {
    log("console: vite is not installed (npm install without --omit=dev?); /ui/ will say the console is not built");
    return false;
  }
  const result = spawnSync(process.execPath, [vite, "build", "--config", join(root, "controller/ui/vite.config.ts"), "--logLevel", "warn"], {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit"],
  });
  if (result.status !== 0) {
    log(`console: the build failed (exit ${result.status ?? result.signal}); /ui/ will say the console is not built`);
    return false;
  }
  return true;
}

/** Builds the console unless its build is up to date. */
export function ensureConsoleBuilt(log?: (line: string) => void): boolean {
  if (!consoleBuildIsStale()) return true;
  (log ?? ((l) => console.error(l)))("console: building the web console (dist/ui/)…");
  return buildConsole(log);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const ok = process.argv.includes("--if-stale") ? ensureConsoleBuilt() : buildConsole();
  // A missing console must not stop the sandbox: the controller then serves a page saying how to build it.
  process.exitCode = ok || process.argv.includes("--if-stale") ? 0 : 1;
}
