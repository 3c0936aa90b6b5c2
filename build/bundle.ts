/**
 * `npm run build`'s second step: the launchers' entries in the build folder (tsc's output, one file
 * per module) are replaced by bundles of everything they import, so a process starts by reading a few
 * files instead of hundreds (module resolution and loading were most of a controller's start-up:
 * docs/benchmarks.md §Start-up of the launchers). The other files of the build stay as tsc wrote them.
 *
 * - The daemons (controller, agent, simulator) become one ES module each.
 * - aggctl is split: its entry and its lazily imported command groups and RPC stack become chunks in
 *   `cli/chunks/`, so `aggctl --help` still loads only the catalog and a call loads what it uses.
 *
 * better-sqlite3 stays outside the bundles (its native addon is found relative to its own package), and
 * so does pg-native (pg's optional native binding, never installed here). The bundles' source maps
 * continue tsc's, so stack traces still name the TypeScript sources.
 *
 * Usage: node --import tsx build/bundle.ts DIR   (DIR: the build folder, e.g. dist.tmp)
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { build, type BuildOptions } from "esbuild";

/** The entries the bin/ daemons run, each bundled into one file. */
const daemonEntries = ["controller/main", "agent/main", "simulator/main"] as const;

/** aggctl's entry, bundled with code splitting. */
const cliEntry = "cli/main";

/** What every bundle of the build shares. */
function commonOptions(dir: string): BuildOptions {
  return {
    outdir: dir,
    outbase: dir,
    allowOverwrite: true,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: true,
    // Stack traces need the mappings only; the sources' text would triple the maps Node parses at start.
    sourcesContent: false,
    external: ["better-sqlite3", "pg-native"],
    // The CommonJS packages bundled (grpc-js, pg, prom-client…) call require() for Node's own modules.
    banner: { js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);' },
    logLevel: "warning",
  };
}

/** Bundles the launchers' entries of the build in `dir` in place. */
async function bundleEntries(dir: string): Promise<void> {
  const path = (entry: string) => join(dir, `${entry}.js`);
  for (const entry of [...daemonEntries, cliEntry]) if (!existsSync(path(entry))) throw new Error(`${path(entry)} is missing: run tsc -p tsconfig.build.json first`);
  await build({ ...commonOptions(dir), entryPoints: daemonEntries.map(path) });
  await build({ ...commonOptions(dir), entryPoints: [path(cliEntry)], splitting: true, chunkNames: "cli/chunks/[name]-[hash]" });
}

const [dir] = process.argv.slice(2);
if (!dir) {
  console.error("usage: node --import tsx build/bundle.ts DIR");
  process.exit(2);
}
await bundleEntries(resolve(dir)).catch((err: unknown) => {
  // esbuild has printed its errors already; a missing entry has not.
  console.error(`build/bundle.ts: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
  process.exit(1);
});
