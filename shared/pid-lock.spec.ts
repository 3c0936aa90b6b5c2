import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { acquirePidLock } from "./pid-lock.js";

describe("acquirePidLock", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "pid-lock-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("writes the owner's pid, refuses a second owner while it lives, and frees the file on release", () => {
    const path = join(dir, "db.lock");
    const release = acquirePidLock(path, "the database");
    expect(readFileSync(path, "utf8").trim()).toBe(String(process.pid));
    expect(() => acquirePidLock(path, "the database")).toThrow(`the database is in use by process ${process.pid} (lock file ${path})`);
    release();
    acquirePidLock(path, "the database")();
  });

  it("takes over a lock whose process is gone", () => {
    const path = join(dir, "db.lock");
    writeFileSync(path, "999999999\n"); // above any pid this machine hands out
    const release = acquirePidLock(path, "the database");
    expect(readFileSync(path, "utf8").trim()).toBe(String(process.pid));
    release();
  });

  it("a release never removes a lock another process took over", () => {
    const path = join(dir, "db.lock");
    const release = acquirePidLock(path, "the database");
    writeFileSync(path, "999999999\n");
    release();
    expect(readFileSync(path, "utf8").trim()).toBe("999999999");
  });
});
