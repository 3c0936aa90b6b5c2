import { describe, expect, it } from "vitest";
import { isPostgresUrl, printableDatabase } from "./database-url.js";

describe("database locations", () => {
  it("a postgres:// or postgresql:// URL selects PostgreSQL; a path (even one containing a colon) is SQLite", () => {
    expect(isPostgresUrl("postgres://agg@db.example:5432/aggregates")).toBe(true);
    expect(isPostgresUrl("postgresql://agg@db.example/aggregates")).toBe(true);
    expect(isPostgresUrl("./data/controller.db")).toBe(false);
    expect(isPostgresUrl("/var/lib/postgres:x/controller.db")).toBe(false);
    expect(isPostgresUrl(":memory:")).toBe(false);
  });

  it("never prints a URL's password", () => {
    expect(printableDatabase("postgres://agg:s3cret@db.example:5432/aggregates")).toBe("postgres://agg:***@db.example:5432/aggregates");
    expect(printableDatabase("postgres://agg@db.example:5432/aggregates")).toBe("postgres://agg@db.example:5432/aggregates");
    expect(printableDatabase("postgres://agg:s3cret@[bad")).not.toContain("s3cret");
    expect(printableDatabase("./data/controller.db")).toBe("./data/controller.db");
  });
});
