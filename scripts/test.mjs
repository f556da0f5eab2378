// `npm test`: every check a change must pass, in the order that fails fastest.
import { spawnSync } from "node:child_process";

const steps = [
  ["format", "npx", ["prettier", "--check", "--log-level", "warn", "."]],
  ["lint", "npx", ["eslint", "--max-warnings", "0", "."]],
  ["typecheck", "npm", ["run", "--silent", "typecheck"]],
  ["build", "npm", ["run", "--silent", "build"]],
  ["deploy dry-run", "npx", ["wrangler", "deploy", "--dry-run", "--outdir", ".wrangler/dry-run"]],
  ["tests", "npx", ["vitest", "run", ...process.argv.slice(2)]],
];

const env = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  FORCE_COLOR: process.env.CI ? "0" : "1",
};
for (const [name, cmd, args] of steps) {
  const started = Date.now();
  process.stdout.write(`\n▶ ${name}\n`);
  const result = spawnSync(cmd, args, { stdio: "inherit", env });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (result.status !== 0) {
    process.stdout.write(`\n✗ ${name} failed after ${secs} s\n`);
    process.exit(result.status ?? 1);
  }
  process.stdout.write(`✓ ${name} (${secs} s)\n`);
}
