/**
 * contrib/: the example config files use only keys the daemons know (checked against the same option
 * tables the flags come from), and the systemd units pass `systemd-analyze verify` without a word —
 * it exits 0 even for unknown keys and bad values, so any output is a failure. verify needs the
 * ExecStart= programs and the standard units, so it runs on a scratch root holding those.
 */
import { execFile } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { agentOptions } from "../../agent/cli-options.js";
import { controllerOptions } from "../../controller/cli-options.js";
import { readConfigFile } from "../../shared/config-file.js";

const repo = resolve(import.meta.dirname, "../..");
const contrib = join(repo, "contrib");
const scratch: string[] = [];
afterAll(() => scratch.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe("contrib/config", () => {
  it("the example config files hold only known keys of the right types", () => {
    expect(Object.keys(readConfigFile(join(contrib, "config/controller.json"), controllerOptions, ["help"]))).toContain("db");
    expect(Object.keys(readConfigFile(join(contrib, "config/agent-xs1.json"), agentOptions, ["help"]))).toContain("xapi-url");
  });
});

const analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].find(existsSync);
const standardUnits = ["/usr/lib/systemd/system", "/lib/systemd/system"].find((d) => existsSync(join(d, "multi-user.target")));

describe.skipIf(!analyze || !standardUnits)(`contrib/systemd${analyze ? "" : " (skipped: systemd-analyze not installed; Debian package systemd)"}`, () => {
  it("the units pass systemd-analyze verify with no warning", async () => {
    const root = mkdtempSync(join(tmpdir(), "aggregates-units-"));
    scratch.push(root);
    mkdirSync(join(root, "opt/host-aggregates/bin"), { recursive: true });
    for (const name of ["aggregates-controller", "aggregates-agent"]) copyFileSync(join(repo, "bin", name), join(root, "opt/host-aggregates/bin", name));
    mkdirSync(join(root, "usr/lib/systemd"), { recursive: true });
    cpSync(standardUnits!, join(root, "usr/lib/systemd/system"), { recursive: true, verbatimSymlinks: true });
    mkdirSync(join(root, "etc/systemd/system"), { recursive: true });
    const units = readdirSync(join(contrib, "systemd")).filter((f) => f.endsWith(".service"));
    expect(units.sort()).toEqual(["aggregates-agent@.service", "aggregates-controller.service"]);
    for (const unit of units) copyFileSync(join(contrib, "systemd", unit), join(root, "etc/systemd/system", unit));
    const { stdout, stderr } = await promisify(execFile)(analyze!, ["verify", `--root=${root}`, "--man=no", "aggregates-controller.service", "aggregates-agent@xs1.service"]);
    expect(stdout + stderr).toBe("");
  });
});
