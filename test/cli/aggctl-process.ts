/**
 * Runs bin/aggctl as a real process, as an operator would, against a controller (asynchronously:
 * an in-process test controller keeps answering while aggctl runs).
 */
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import type { TestController } from "../support/controller-harness.js";

const bin = resolve(import.meta.dirname, "../../bin/aggctl");

/** What one aggctl run printed and its exit code. */
export interface AggctlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs aggctl with the given environment (PATH is kept) and resolves when it exits. */
export function aggctlWith(env: Record<string, string>, ...args: string[]): Promise<AggctlResult> {
  return new Promise((done) => {
    execFile(bin, args, { env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8", timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

/** The environment that points aggctl at a test controller with its admin token. */
export function aggctlEnv(h: TestController): Record<string, string> {
  return { AGGREGATES_ENDPOINT: h.grpcEndpoint, AGGREGATES_TOKEN: h.adminToken };
}

/** Runs aggctl against a test controller. */
export function aggctl(h: TestController, ...args: string[]): Promise<AggctlResult> {
  return aggctlWith(aggctlEnv(h), ...args);
}
