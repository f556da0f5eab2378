import { defineConfig } from "vitest/config";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import react from "@vitejs/plugin-react";
import { fakePushOutbound } from "./e2e/fake-push/outbound.ts";

// Four kinds of test, one command:
// - workers: the real Worker and Durable Objects inside workerd, real D1/R2, real migrations;
// - node: protocol and executor units on Node;
// - web: UI components in jsdom;
// - e2e: real `wrangler dev`, real executor processes, real Claude Code, real Chromium.
export default defineConfig(async () => {
  const migrations = await readD1Migrations("migrations");
  return {
    test: {
      reporters: ["default", "./scripts/summary-reporter.ts"],
      // Structured logs are kept for failing tests only.
      silent: "passed-only" as const,
      projects: [
        {
          plugins: [
            cloudflareTest({
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                bindings: {
                  JWT_SECRET: "test-secret-not-for-production",
                  TEST_MIGRATIONS: migrations,
                  // Short timings so presence and queue tests run in seconds.
                  DEVICE_GRACE_SECONDS: "1",
                  QUEUE_TIMEOUT_SECONDS: "2",
                  DISPATCH_TIMEOUT_SECONDS: "1",
                  DEVICE_REQUEST_TIMEOUT_SECONDS: "1",
                  // Web Push: a test-only VAPID key pair; pushes go to the fake push service.
                  VAPID_PUBLIC_KEY:
                    "BEFYeLs8MjKEmt9VmJaz1lirAfgEhnT81Bz-pCqdUG8_Qe-PgygvKMVNjxr3JdMSAACW8EnELsBqTPo4AEh_leo",
                  VAPID_PRIVATE_KEY: "RQDBWKcXOtZJjQKd5BUauWQYKK6BcDDqA5r6o7kQBak",
                  VAPID_SUBJECT: "mailto:tests@wegent-edge.invalid",
                  PUSH_ALLOW_LOOPBACK: "1",
                },
                outboundService: fakePushOutbound,
              },
            }),
          ],
          test: {
            name: "workers",
            include: ["worker/**/*.test.ts"],
            setupFiles: ["./worker/test/apply-migrations.ts"],
          },
        },
        {
          test: {
            name: "node",
            environment: "node",
            // Executor tests spawn git, shells and Claude Code: 5 s is too little on a loaded CI machine.
            testTimeout: 30_000,
            include: [
              "protocol/test/**/*.test.ts",
              "executor/test/**/*.test.ts",
              // The hubs' plain classes (slots, deadlines) and the layering rule, without workerd.
              "durable-objects/test/**/*.test.ts",
              "edge/test/**/*.test.ts",
              "bench/test/**/*.test.ts",
            ],
          },
        },
        {
          plugins: [react()],
          test: {
            name: "web",
            environment: "jsdom",
            include: ["web/test/**/*.test.tsx"],
          },
        },
        {
          test: {
            name: "e2e",
            environment: "node",
            include: ["e2e/**/*.test.ts"],
            testTimeout: 120_000,
            hookTimeout: 180_000,
            fileParallelism: false,
          },
        },
      ],
    },
  };
});
