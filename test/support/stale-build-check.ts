/**
 * vitest globalSetup: refuses to run the suites when the repository's dist/ is older than the sources
 * it is built from. The bin/ launchers run dist/ whenever it exists, so the suites that spawn them
 * would otherwise test an old build. The folders are read from tsconfig.build.json.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

const repo = resolve(import.meta.dirname, "../..");

function files(dir: string, keep: (name: string) => boolean): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter(keep)
    .map((f) => join(dir, f));
}

export default function checkBuildIsFresh(): void {
  const dist = join(repo, "dist");
  // dist/ui/ is the web console (Vite, test/ui/global-setup.ts keeps it fresh), not what the launchers run.
  const built = files(dist, (f) => f.endsWith(".js") && !/^ui[\\/]/.test(f));
  if (built.length === 0) return;
  const builtAt = Math.min(...built.map((f) => statSync(f).mtimeMs));
  const { include } = JSON.parse(readFileSync(join(repo, "tsconfig.build.json"), "utf8")) as { include: string[] };
  const ui = join(repo, "controller", "ui");
  const sources = include
    .flatMap((folder) => files(join(repo, folder), (f) => f.endsWith(".ts") && !f.endsWith(".spec.ts")))
    .filter((f) => !f.startsWith(ui + "/") && !f.startsWith(ui + "\\"));
  const newer = sources.find((f) => statSync(f).mtimeMs > builtAt);
  if (newer) {
    throw new Error(
      `dist/ is older than ${newer.slice(repo.length + 1)}: the bin/ launchers run dist/ when it exists, so the tests would run an old build. ` +
        `Run "npm run build" again, or remove dist/ to test the sources.`,
    );
  }
}
