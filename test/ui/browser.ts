/**
 * Headless Chromium for the console's browser tests: Debian's /usr/bin/chromium driven by
 * playwright-core (which downloads no browser of its own), with a fresh profile per launch.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

/** The browser the tests drive (CHROMIUM_PATH overrides). */
export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * Why the browser tests cannot run here, or undefined when they can. In CI a missing Chromium is a
 * failure, not a skip (.ci/run installs it).
 */
export function browserMissing(): string | undefined {
  if (existsSync(chromiumPath)) return undefined;
  const reason = `${chromiumPath} not found (apt-get install chromium, or set CHROMIUM_PATH)`;
  if (process.env.CI) throw new Error(`the console's browser tests need Chromium in CI: ${reason}`);
  return reason;
}

/** A running browser with one page. */
export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Console messages and page errors, for failure reports. */
  log: string[];
  close(): Promise<void>;
}

/** Launches headless Chromium on a new empty profile, at a laptop's window size. */
export async function launchBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "aggregates-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1366, height: 860 },
    // This machine's network is closed: no background fetches, updates, sync or QUIC probes.
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const log: string[] = [];
  page.on("console", (m) => log.push(`console.${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => log.push(`page error: ${e.message}`));
  return {
    context,
    page,
    log,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
