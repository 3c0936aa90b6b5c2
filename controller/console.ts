/**
 * The web console's static files on the controller's HTTP port, under `/ui/` — the same origin as
 * the Connect/JSON API it calls. The files are Vite's build of controller/ui/ (`npm run build:ui`,
 * into dist/ui/, never committed); while they are missing, `/ui/` answers a page saying how to build
 * them. See docs/console.md.
 */
import { createReadStream, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { HttpRoute } from "../shared/rpc/server.js";

/**
 * Where `npm run build:ui` writes the console (dist/ui/ at the repository root), from the sources
 * (controller/console.ts) or from the build (dist/controller/console.js, or the controller's bundle
 * dist/controller/main.js).
 */
export const defaultConsoleDir = fileURLToPath(
  new URL(/[\\/]dist[\\/]controller[\\/][^\\/]+\.js$/.test(fileURLToPath(import.meta.url)) ? "../ui/" : "../dist/ui/", import.meta.url),
);

/** The URL prefix of the console. */
export const consolePrefix = "/ui/";

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

/**
 * Every answer under /ui/: the console only talks to its own origin, runs no inline script or style,
 * and is never framed.
 */
const securityHeaders: Record<string, string> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

const notBuiltPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Console not built</title></head>
<body><main>
<h1>The web console is not built</h1>
<p>Run <code>npm run build:ui</code> in the host-aggregates checkout, then reload this page.
(<code>npm start</code> builds it when it is missing or older than its sources.)</p>
<p>The API itself is up: Connect/JSON and os-aggregates answer on this port.</p>
</main></body></html>
`;

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...securityHeaders, "content-type": "text/html; charset=utf-8", "cache-control": "no-store", ...headers });
  res.end(body);
}

/** The file a request path names inside `dir`, or undefined when it would leave it or is hidden. */
function fileFor(dir: string, pathname: string): string | undefined {
  let relative: string;
  try {
    relative = decodeURIComponent(pathname.slice(consolePrefix.length));
  } catch {
    return undefined;
  }
  if (relative === "") relative = "index.html";
  if (relative.includes("\0")) return undefined;
  const path = normalize(join(dir, relative));
  if (!path.startsWith(dir.endsWith(sep) ? dir : dir + sep)) return undefined;
  if (path.slice(dir.length).split(sep).some((segment) => segment.startsWith("."))) return undefined;
  return path;
}

function isFile(path: string): { size: number } | undefined {
  try {
    const st = statSync(path);
    return st.isFile() ? { size: st.size } : undefined;
  } catch {
    return undefined;
  }
}

/** Serves the built console from `dir` under /ui/ (GET and HEAD); `/ui` redirects to `/ui/`. */
export function consoleRoute(dir: string = defaultConsoleDir): HttpRoute {
  const root = normalize(dir);
  return (req: IncomingMessage, res: ServerResponse) => {
    const raw = req.url ?? "/";
    const queryAt = raw.indexOf("?");
    const pathname = queryAt < 0 ? raw : raw.slice(0, queryAt);
    if (pathname === "/ui") {
      res.writeHead(308, { ...securityHeaders, location: consolePrefix });
      res.end();
      return true;
    }
    if (!pathname.startsWith(consolePrefix)) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(res, 405, "<!doctype html><title>405</title><p>The console is read with GET.</p>", { allow: "GET, HEAD" });
      return true;
    }
    if (!isFile(join(root, "index.html"))) {
      send(res, 503, notBuiltPage);
      return true;
    }
    const path = fileFor(root, pathname);
    const found = path ? isFile(path) : undefined;
    if (!path || !found) {
      send(res, 404, `<!doctype html><title>Not found</title><p>No such file in the console. <a href="${consolePrefix}">Open the console</a>.</p>`);
      return true;
    }
    // Vite names assets by content hash: they never change. index.html always revalidates.
    const immutable = path.startsWith(join(root, "assets") + sep);
    res.writeHead(200, {
      ...securityHeaders,
      "content-type": contentTypes[extname(path)] ?? "application/octet-stream",
      "content-length": String(found.size),
      "cache-control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
    });
    if (req.method === "HEAD") {
      res.end();
      return true;
    }
    createReadStream(path)
      .on("error", () => res.destroy())
      .pipe(res);
    return true;
  };
}
