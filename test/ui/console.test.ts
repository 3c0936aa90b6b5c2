/**
 * Issue 16: the web console in a real browser (headless Chromium via playwright-core) against a real
 * sandbox (simulator, agents, controller) on free ports — sign in, create an aggregate, add hosts and
 * watch the operations reach SUCCEEDED, dry-run a maintenance and read the plan, confirm it and stop
 * it with rebalance, see a refused request's message, and the live event feed. Every wait is on a condition (a locator), never a sleep.
 *
 * UPDATE_CONSOLE_SCREENSHOT=1 also writes the overview to docs/console.png.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type ApiClients } from "../../cli/api-clients.js";
import { builtIndex } from "../../controller/ui/build.js";
import { MaintenanceState } from "../../gen/hostaggregates/v1/host_pb.js";
import { OperationKind } from "../../gen/hostaggregates/v1/operation_pb.js";
import { silentLogger } from "../../shared/logging.js";
import { startSandbox, type Sandbox } from "../../sandbox/sandbox.js";
import { browserMissing, launchBrowser, type Browser } from "./browser.js";

const root = new URL("../..", import.meta.url).pathname;
const missing = browserMissing();
if (missing) console.warn(`SKIPPED the console's browser tests: ${missing}`);
const skipReason = missing ? ` (skipped: ${missing})` : "";

/** How long each part took, printed at the end (the report quotes them). */
const timings: [string, number][] = [];
async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await fn();
  } finally {
    timings.push([what, Date.now() - started]);
  }
}

describe.skipIf(missing !== undefined)(`the web console in Chromium${skipReason}`, { timeout: 120_000 }, () => {
  const stateDir = mkdtempSync(join(tmpdir(), "aggregates-console-"));
  let sandbox: Sandbox;
  let browser: Browser;
  let api: ApiClients;
  let base: string;

  beforeAll(async () => {
    if (!existsSync(builtIndex)) throw new Error(`the console is not built (${builtIndex} missing): run npm run build:ui`);
    await timed("sandbox start", async () => {
      sandbox = await startSandbox({ hosts: 3, vmsPerHost: 2, port: 0, stateDir, timeScale: 0.01, baseAddress: "127.0.6.10", log: silentLogger });
    });
    api = connect({ endpoint: sandbox.info.controller, token: sandbox.info.adminToken });
    base = sandbox.info.console;
    browser = await timed("browser launch", launchBrowser);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await sandbox?.close();
    rmSync(stateDir, { recursive: true, force: true });
    if (timings.length) console.log(`console test timings: ${timings.map(([w, ms]) => `${w} ${ms} ms`).join(", ")}`);
  });

  it("signs in (a wrong token shows the API's refusal), creates an aggregate, adds hosts and follows their operations to SUCCEEDED", async () => {
    const { page } = browser;
    await timed("sign in", async () => {
      await page.goto(base);
      // Keyboard only: the token field has the focus, Enter submits.
      await page.getByLabel("Admin token").waitFor();
      await page.keyboard.type("not-a-token");
      await page.keyboard.press("Enter");
      await page.getByRole("alert").filter({ hasText: "UNAUTHENTICATED" }).waitFor();
      await page.getByLabel("Admin token").fill(sandbox.info.adminToken);
      await page.keyboard.press("Enter");
      await page.getByRole("heading", { level: 1, name: "Aggregates" }).waitFor();
      expect(await page.evaluate(() => Object.keys(sessionStorage))).toContain("hostaggregates.console.token");
    });

    await timed("create aggregate", async () => {
      await page.getByLabel("Name").fill("ui-pool");
      await page.getByLabel("Availability zone").fill("az-ui");
      await page.getByRole("button", { name: "Create" }).click();
      await page.getByRole("heading", { level: 1, name: "ui-pool" }).waitFor();
    });
    const created = (await api.aggregates.listAggregates({})).aggregates.find((a) => a.name === "ui-pool");
    expect(created?.availabilityZone).toBe("az-ui");

    await timed("add xs1 (inline card to SUCCEEDED)", async () => {
      await page.getByLabel("Add host").selectOption("xs1");
      await page.getByRole("button", { name: "Add host" }).click();
      const card = page.locator(".op-card").filter({ hasText: "ADD_HOST xs1" });
      await card.locator(".op-state").filter({ hasText: "SUCCEEDED" }).waitFor({ timeout: 30_000 });
      // The hosts table follows: xs1 is the master, a member, enabled, with its two VMs.
      const row = page.locator("tr[data-host=xs1]");
      await row.filter({ hasText: "master" }).filter({ hasText: "enabled" }).waitFor();
      await row.filter({ hasText: "xs1-2g-vm01" }).waitFor();
    });

    await timed("add xs2 (operation page to SUCCEEDED)", async () => {
      await page.getByLabel("Add host").selectOption("xs2");
      await page.getByRole("button", { name: "Add host" }).click();
      await page.locator(".op-card").filter({ hasText: "ADD_HOST xs2" }).getByRole("link").click();
      await page.getByRole("heading", { level: 1, name: "ADD_HOST xs2" }).waitFor();
      await page.locator(".op-status .op-state").filter({ hasText: "SUCCEEDED" }).waitFor({ timeout: 30_000 });
      await page.locator("table.steps tr").filter({ hasText: "enable-host" }).filter({ hasText: "DONE" }).waitFor();
    });
    const pool = await api.aggregates.getAggregate({ id: created!.id });
    expect(pool.members.map((m) => m.host).sort()).toEqual(["xs1", "xs2"]);
  });

  it("dry-runs a maintenance and shows the plan (which VM goes where) without changing anything", async () => {
    const { page } = browser;
    await timed("dry-run maintenance", async () => {
      await page.getByRole("link", { name: "ui-pool" }).click();
      await page.getByRole("heading", { level: 1, name: "ui-pool" }).waitFor();
      await page.locator("tr[data-host=xs1] th").getByRole("link", { name: "xs1" }).click();
      await page.getByRole("heading", { level: 1, name: "xs1" }).waitFor();
      await page.getByRole("button", { name: "Plan maintenance (dry run)" }).click();
      await page.getByRole("heading", { name: "Evacuation plan for xs1" }).waitFor();
    });
    const rows = page.locator("table.plan tbody tr");
    expect(await rows.count()).toBe(2);
    for (const vm of ["xs1-2g-vm01", "xs1-4g-vm01"]) {
      // From xs1 to xs2, the only other member.
      expect(await rows.filter({ hasText: vm }).locator("td").allInnerTexts()).toEqual([expect.stringMatching(/GiB/), "xs1", "xs2"]);
    }
    await page.getByText("No blockers.").waitFor();
    await page.getByRole("button", { name: "Confirm: start maintenance" }).waitFor();
    // A dry run records nothing.
    expect((await api.hosts.getHost({ name: "xs1" })).maintenance).toBe(MaintenanceState.NONE);
    const ops = await api.operations.listOperations({ host: "xs1" });
    expect(ops.operations.some((o) => o.kind === OperationKind.START_MAINTENANCE)).toBe(false);
    await page.getByRole("button", { name: "Discard plan" }).click();
    await page.getByRole("heading", { name: "Evacuation plan for xs1" }).waitFor({ state: "detached" });
    // The discarded plan's buttons are gone: the focus is back on the button that plans.
    await page.waitForFunction(() => document.activeElement?.textContent?.trim() === "Plan maintenance (dry run)");
  });

  it("starts the maintenance from the plan, follows the evacuation, and stops it moving the VMs back", async () => {
    const { page } = browser;
    await timed("maintenance start (plan, confirm, SUCCEEDED)", async () => {
      await page.getByRole("button", { name: "Plan maintenance (dry run)" }).click();
      await page.getByRole("button", { name: "Confirm: start maintenance" }).click();
      const card = page.locator(".op-card").filter({ hasText: "START_MAINTENANCE xs1" });
      await card.locator(".op-state").filter({ hasText: "SUCCEEDED" }).waitFor({ timeout: 30_000 });
      await page.locator("table.plan tbody tr").filter({ hasText: "xs1-4g-vm01" }).filter({ hasText: "DONE" }).waitFor();
      await page.getByRole("button", { name: "Stop maintenance" }).waitFor();
    });
    expect((await api.hosts.getHost({ name: "xs2" })).vms.filter((v) => v.originHost === "xs1").map((v) => v.name).sort()).toEqual(["xs1-2g-vm01", "xs1-4g-vm01"]);
    await timed("maintenance stop with rebalance", async () => {
      expect(await page.getByLabel("Move the VMs that left back (rebalance)").isChecked()).toBe(true);
      await page.getByRole("button", { name: "Stop maintenance" }).click();
      await page.locator(".op-card").filter({ hasText: "STOP_MAINTENANCE xs1" }).locator(".op-state").filter({ hasText: "SUCCEEDED" }).waitFor({ timeout: 30_000 });
      await page.getByRole("button", { name: "Plan maintenance (dry run)" }).waitFor();
    });
    const xs1 = await api.hosts.getHost({ name: "xs1" });
    expect(xs1.maintenance).toBe(MaintenanceState.NONE);
    expect(xs1.vms.map((v) => v.name).sort()).toEqual(["xs1-2g-vm01", "xs1-4g-vm01"]);
  });

  it("shows the API's message when a request is refused (deleting a non-empty aggregate), with the keyboard in the dialog", async () => {
    const { page } = browser;
    await timed("refused delete", async () => {
      await page.getByRole("link", { name: "ui-pool" }).click();
      await page.getByRole("heading", { level: 1, name: "ui-pool" }).waitFor();
      // A new page puts the focus on its heading, and keeps it there once the page has loaded.
      await page.waitForFunction(() => document.activeElement?.tagName === "H1" && document.activeElement.textContent?.trim() === "ui-pool");
      await page.getByRole("button", { name: "Delete aggregate…" }).click();
      const dialog = page.getByRole("dialog", { name: "Delete ui-pool?" });
      await dialog.waitFor();
      // Cancel has the focus (Enter alone never confirms); Tab reaches Delete.
      expect(await page.evaluate(() => document.activeElement?.textContent?.trim())).toBe("Cancel");
      await page.keyboard.press("Tab");
      await page.keyboard.press("Enter");
      await dialog.waitFor({ state: "detached" });
      const alert = page.getByRole("alert").filter({ hasText: "FAILED_PRECONDITION" });
      await alert.waitFor();
      expect(await alert.innerText()).toContain("is not empty: it still has host(s) xs1, xs2; remove them first");
    });
    expect((await api.aggregates.listAggregates({})).aggregates.map((a) => a.name)).toContain("ui-pool");
  });

  it("shows new events live, and the overview (screenshot)", async () => {
    const { page } = browser;
    await timed("live event", async () => {
      await page.getByRole("link", { name: "Events" }).click();
      await page.getByRole("heading", { level: 1, name: "Events" }).waitFor();
      await page.locator("tr[data-event]").filter({ hasText: "ADD_HOST xs2 SUCCEEDED" }).waitFor();
      // Something happens elsewhere (aggctl, another operator): the feed shows it without a reload.
      const other = await api.aggregates.createAggregate({ name: "edge-pool", availabilityZone: "az-edge" });
      const op = await api.aggregates.addHost({ aggregateId: other.id, host: "xs3" });
      await api.aggregates.createAggregate({ name: "spare-pool" });
      await page.locator("tr[data-event]").filter({ hasText: "ADD_HOST xs3 accepted" }).waitFor();
      await page.locator(`tr[data-event]`).filter({ hasText: "ADD_HOST xs3 SUCCEEDED" }).waitFor({ timeout: 30_000 });
      expect(op.id).not.toBe("");
    });

    await timed("overview", async () => {
      await page.getByRole("link", { name: "Aggregates", exact: true }).click();
      await page.getByRole("heading", { level: 1, name: "Aggregates" }).waitFor();
      const row = page.locator("tr[data-aggregate=ui-pool]");
      await row.filter({ hasText: "ACTIVE" }).filter({ hasText: "az-ui" }).waitFor();
      // The maintenance handed the master role to xs2.
      expect(await row.locator("td").allInnerTexts()).toEqual(["az-ui", "ACTIVE", "xs2", "xs1, xs2", "1", "none"]);
      await page.locator("tr[data-aggregate=edge-pool]").filter({ hasText: "ACTIVE" }).waitFor();
      await page.locator("tr[data-aggregate=spare-pool]").filter({ hasText: "EMPTY" }).waitFor();
      await page.getByText("3 host(s) registered, 0 in no aggregate").waitFor();
      await page.getByText("events: live").waitFor();
      const shot = join(stateDir, "console.png");
      await page.screenshot({ path: shot });
      if (process.env.UPDATE_CONSOLE_SCREENSHOT) copyFileSync(shot, join(root, "docs/console.png"));
    });
    expect(browser.log.filter((l) => l.startsWith("page error"))).toEqual([]);
  });

  it("signs out, and a token the controller no longer accepts ends the session with its message", async () => {
    const { page } = browser;
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByText("Signed out.").waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    // A kept token that the controller refuses (revoked, or another controller): back to sign-in, with the API's reason.
    await page.evaluate(() => sessionStorage.setItem("hostaggregates.console.token", "revoked-token"));
    await page.reload();
    await page.getByText("Your session ended").waitFor();
    await page.getByRole("alert").filter({ hasText: "UNAUTHENTICATED" }).waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
  });
});
