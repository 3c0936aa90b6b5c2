/** Development tokens for a controller started without configured tokens. */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A token kept in a 0600 file under a directory; created when missing. */
export function devToken(dir: string, fileName: string): { token: string; path: string; created: boolean } {
  const path = join(dir, fileName);
  if (existsSync(path)) return { token: readFileSync(path, "utf8").trim(), path, created: false };
  mkdirSync(dir, { recursive: true });
  const token = randomBytes(24).toString("base64url");
  writeFileSync(path, token + "\n", { mode: 0o600, flag: "wx" });
  return { token, path, created: true };
}
