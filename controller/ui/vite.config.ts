/**
 * Vite build of the web console: controller/ui/ → dist/ui/, served by the controller under /ui/
 * (controller/console.ts). `npm run dev:ui` serves it with hot reload and forwards the API calls to a
 * running controller's HTTP port (AGGREGATES_HTTP, default http://127.0.0.1:50052).
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/ui/",
  publicDir: false,
  clearScreen: false,
  build: {
    outDir: fileURLToPath(new URL("../../dist/ui", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    sourcemap: true,
    // No inline script: the controller's Content-Security-Policy allows only its own files.
    modulePreload: { polyfill: false },
  },
  server: {
    proxy: { "^/hostaggregates\\.v1\\.": process.env.AGGREGATES_HTTP ?? "http://127.0.0.1:50052" },
  },
});
