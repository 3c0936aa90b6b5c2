import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "test/**/*.test.ts",
      "controller/**/*.spec.ts",
      "shared/**/*.spec.ts",
      "agent/**/*.spec.ts",
      "simulator/**/*.spec.ts",
      "chaos/**/*.spec.ts",
      "bench/**/*.spec.ts",
    ],
    globalSetup: ["test/ui/global-setup.ts", "test/support/stale-build-check.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
