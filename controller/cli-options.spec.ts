import { describe, expect, it } from "vitest";
import { databaseOption, defaultDatabase } from "./cli-options.js";

const resolvePath = (path: string) => `/abs/${path}`;

describe("--db", () => {
  it("takes the flag first, then AGGREGATES_DB_URL, then the default SQLite file", () => {
    const env = { AGGREGATES_DB_URL: "postgres://agg@db:5432/aggregates" };
    expect(databaseOption("postgres://other@db/x", env, resolvePath)).toBe("postgres://other@db/x");
    expect(databaseOption("my.db", env, resolvePath)).toBe("/abs/my.db");
    expect(databaseOption(undefined, env, resolvePath)).toBe("postgres://agg@db:5432/aggregates");
    expect(databaseOption(undefined, {}, resolvePath)).toBe(`/abs/${defaultDatabase}`);
    expect(databaseOption(undefined, { AGGREGATES_DB_URL: "" }, resolvePath)).toBe(`/abs/${defaultDatabase}`);
  });
});
