/**
 * The controller's /ui/ route (controller/console.ts): the built files with their types, caching and
 * security headers; a page saying how to build the console while it is missing; nothing outside its
 * folder; other paths left to the API.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consoleRoute } from "../../controller/console.js";

const dir = mkdtempSync(join(tmpdir(), "aggregates-console-route-"));
const built = join(dir, "built");
const missing = join(dir, "missing");
let server: http.Server;
let base = "";

beforeAll(async () => {
  mkdirSync(join(built, "assets"), { recursive: true });
  writeFileSync(join(built, "index.html"), "<!doctype html><title>console</title>");
  writeFileSync(join(built, "assets/index-abc123.js"), "console.log(1)");
  writeFileSync(join(built, ".secret"), "hidden");
  writeFileSync(join(dir, "outside.txt"), "outside");
  const routes = [consoleRoute(built)];
  const notBuilt = consoleRoute(missing);
  server = http.createServer((req, res) => {
    void (async () => {
      const route = req.url?.startsWith("/missing/") ? ((req.url = req.url.slice("/missing".length)), notBuilt) : routes[0]!;
      if (!(await route(req, res))) {
        res.writeHead(418);
        res.end("not the console's");
      }
    })();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

/** A raw GET (fetch would normalise "..", which the test must send as is). */
function get(path: string, method = "GET"): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method, path }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("the console route", () => {
  it("serves index.html at /ui/ (revalidated) and hashed assets as immutable, with a strict CSP", async () => {
    const index = await get("/ui/");
    expect(index.status).toBe(200);
    expect(index.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(index.headers["cache-control"]).toBe("no-cache");
    expect(index.headers["content-security-policy"]).toContain("script-src 'self'");
    expect(index.headers["content-security-policy"]).toContain("connect-src 'self'");
    expect(index.headers["x-content-type-options"]).toBe("nosniff");
    expect(index.body).toContain("<title>console</title>");
    const asset = await get("/ui/assets/index-abc123.js");
    expect(asset.status).toBe(200);
    expect(asset.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(asset.headers["cache-control"]).toContain("immutable");
    expect(asset.body).toBe("console.log(1)");
    const head = await get("/ui/assets/index-abc123.js", "HEAD");
    expect(head.status).toBe(200);
    expect(head.body).toBe("");
  });

  it("redirects /ui to /ui/ and leaves every other path to the next route", async () => {
    const redirect = await get("/ui");
    expect(redirect.status).toBe(308);
    expect(redirect.headers.location).toBe("/ui/");
    expect((await get("/hostaggregates.v1.AggregateService/ListAggregates")).status).toBe(418);
    expect((await get("/uix")).status).toBe(418);
  });

  it("serves nothing outside its folder, no hidden file, and only GET/HEAD", async () => {
    for (const path of ["/ui/../outside.txt", "/ui/%2e%2e/outside.txt", "/ui/assets/%2e%2e/%2e%2e/outside.txt", "/ui/.secret", "/ui/nope.js", "/ui/%zz"]) {
      const r = await get(path);
      expect(r.status, path).toBe(404);
      expect(r.body, path).not.toContain("outside");
      expect(r.body, path).not.toContain("hidden");
    }
    const post = await get("/ui/", "POST");
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe("GET, HEAD");
  });

  it("says how to build the console while it is not built", async () => {
    const r = await get("/missing/ui/");
    expect(r.status).toBe(503);
    expect(r.body).toContain("npm run build:ui");
  });
});
