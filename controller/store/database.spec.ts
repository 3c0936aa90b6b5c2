import { describe, expect, it } from "vitest";
import { commitWithoutSync, openDatabase } from "./database.js";

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
