/**
 * Vitest global setup: builds the web console (dist/ui/) once before any test file runs, when the
 * build is missing or older than its sources — so no test (nor the walkthrough's `npm start`) sees
 * it half-written. `.ci/run` builds it beforehand, and then this does nothing.
 */
import { ensureConsoleBuilt } from "../../controller/ui/build.js";

export default function setup(): void {
  if (!ensureConsoleBuilt()) console.warn("the web console could not be built: its browser tests will fail");
}
