import { describe, expect, it, vi } from "vitest";
import { commitWithoutSync, openDatabase, statement } from "./database.js";

const synchronous = (db: ReturnType<typeof openDatabase>) => db.pragma("synchronous", { simple: true });
/** A migrated in-memory database with a scratch table t(v). */
function scratch() {
  const db = openDatabase(":memory:");
  db.exec("CREATE TABLE t (v TEXT)");
  return db;
}

describe("commitWithoutSync", () => {
  it("commits with synchronous=NORMAL, and the connection is FULL again after", () => {
    const db = scratch();
    const insert = db.prepare("INSERT INTO t (v) VALUES (?)");
    expect(synchronous(db)).toBe(2); // FULL
    let during: unknown;
    commitWithoutSync(db, () => {
      during = synchronous(db);
      insert.run("unsynced");
    });
    expect(during).toBe(1); // NORMAL
    expect(synchronous(db)).toBe(2);
    expect(db.inTransaction).toBe(false);
    expect(db.prepare("SELECT v FROM t").pluck().all()).toEqual(["unsynced"]);
  });

  it("rolls back when fn throws, and still restores FULL", () => {
    const db = scratch();
    expect(() =>
      commitWithoutSync(db, () => {
        db.prepare("INSERT INTO t (v) VALUES ('lost')").run();
        throw new Error("batch failed");
      }),
    ).toThrow("batch failed");
    expect(synchronous(db)).toBe(2);
    expect(db.prepare("SELECT count(*) FROM t").pluck().get()).toBe(0);
  });
});

describe("statement", () => {
  it("prepares each SQL text once per database and hands the same statement back after", () => {
    const db = scratch();
    const prepare = vi.spyOn(db, "prepare");
    const insert = statement(db, "INSERT INTO t (v) VALUES (?)");
    expect(statement(db, "INSERT INTO t (v) VALUES (?)")).toBe(insert);
    statement(db, "INSERT INTO t (v) VALUES (?)").run("a");
    statement(db, "INSERT INTO t (v) VALUES (?)").run("b");
    expect(prepare).toHaveBeenCalledTimes(1);
    expect(statement(db, "SELECT v FROM t ORDER BY v").pluck().all()).toEqual(["a", "b"]);
    expect(prepare).toHaveBeenCalledTimes(2);
    // Another database has statements of its own.
    const other = scratch();
    expect(statement(other, "INSERT INTO t (v) VALUES (?)")).not.toBe(insert);
    statement(other, "INSERT INTO t (v) VALUES (?)").run("c");
    expect(other.prepare("SELECT count(*) FROM t").pluck().get()).toBe(1);
    expect(db.prepare("SELECT count(*) FROM t").pluck().get()).toBe(2);
  });
});
