/**
 * `npm run build`'s second step: each daemon's entry in the build folder (tsc's output, one file per
 * module) is replaced by one ES module bundling everything it imports, so a daemon starts by reading
 * one file instead of about 500 (module resolution and loading were most of a controller's start-up:
 * docs/benchmarks.md §Start-up of the launchers). The other files of the build stay as tsc wrote them.
 * better-sqlite3 stays outside the bundle (its native addon is found relative to its own package), and
 * so does pg-native (pg's optional native binding, never installed here). The bundles' source maps
 * continue tsc's, so stack traces still name the TypeScript sources.
 *
 * Usage: node --import tsx build/bundle.ts DIR   (DIR: the build folder, e.g. dist.tmp)
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { build } from "esbuild";

/** The entries the bin/ daemons run (aggctl is left as files: its --help and usage errors load only its catalog). */
const bundledEntries = ["controller/main", "agent/main", "simulator/main"] as const;

/** Bundles the entries of the build in `dir` in place. */
async function bundleEntries(dir: string): Promise<void> {
  const entryPoints = bundledEntries.map((entry) => join(dir, `${entry}.js`));
  for (const entry of entryPoints) if (!existsSync(entry)) throw new Error(`${entry} is missing: run tsc -p tsconfig.build.json first`);
  await build({
    entryPoints,
    outdir: dir,
    outbase: dir,
    allowOverwrite: true,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: true,
    // Stack traces need the mappings only; the sources' text would triple the map that Node parses at start.
    sourcesContent: false,
    external: ["better-sqlite3", "pg-native"],
    // The CommonJS packages bundled (grpc-js, pg, prom-client…) call require() for Node's own modules.
    banner: { js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);' },
    logLevel: "warning",
  });
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
