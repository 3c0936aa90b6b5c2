import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, configKeys, parseArgsWithConfig } from "./config-file.js";

const options = {
  listen: { type: "string", default: "127.0.0.1:1" },
  "step-timeout": { type: "string", default: "900" },
  "tls-cert": { type: "string" },
  verbose: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

const dir = mkdtempSync(join(tmpdir(), "config-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (text: string) => {
  const path = join(dir, `c${n++}.json`);
  writeFileSync(path, text);
  return path;
};
const parse = (args: string[]) => parseArgsWithConfig(args, options, ["help"]);

describe("parseArgsWithConfig", () => {
  it("takes defaults, then the file, then the flags", () => {
    expect(parse([])).toEqual({ listen: "127.0.0.1:1", "step-timeout": "900" });
    const config = file(JSON.stringify({ listen: "0.0.0.0:2", "step-timeout": 60, "tls-cert": "/c.pem", verbose: true }));
    expect(parse(["--config", config])).toEqual({ config, listen: "0.0.0.0:2", "step-timeout": "60", "tls-cert": "/c.pem", verbose: true });
    expect(parse(["--config", config, "--listen", "127.0.0.1:3"]).listen).toBe("127.0.0.1:3");
  });

  it("derives the keys from the option table, without the command-line-only ones", () => {
    expect(configKeys(options, ["help"])).toEqual(["listen", "step-timeout", "tls-cert", "verbose"]);
  });

  it("refuses unknown keys, naming the key and the known ones", () => {
    expect(() => parse(["--config", file('{"lisen": "x"}')])).toThrow(/unknown key "lisen"; the keys are the flags without "--": listen, step-timeout, tls-cert, verbose$/);
    expect(() => parse(["--config", file('{"help": true}')])).toThrow(/unknown key "help"/);
    expect(() => parse(["--config", file('{"config": "other.json"}')])).toThrow(/unknown key "config"/);
    expect(() => parse(["--config", file('{"--listen": "x"}')])).toThrow(/unknown key "--listen" \(write it without the dashes: "listen"\)/);
  });

  it("refuses values of the wrong type, unreadable files, bad JSON and non-objects", () => {
    expect(() => parse(["--config", file('{"listen": true}')])).toThrow(/"listen" must be a string \(or a number\), got boolean true/);
    expect(() => parse(["--config", file('{"verbose": "yes"}')])).toThrow(/"verbose" must be true or false, got string "yes"/);
    expect(() => parse(["--config", file('{"listen": null}')])).toThrow(/got null/);
    expect(() => parse(["--config", join(dir, "missing.json")])).toThrow(/cannot read the file \(ENOENT\)/);
    expect(() => parse(["--config", file("{")])).toThrow(/not valid JSON/);
    expect(() => parse(["--config", file("[]")])).toThrow(/expected a JSON object/);
  });

  it("reports flag mistakes as ConfigError and reads no file for --help", () => {
    expect(() => parse(["--bogus"])).toThrow(ConfigError);
    expect(parse(["--help", "--config", join(dir, "missing.json")]).help).toBe(true);
  });
});
