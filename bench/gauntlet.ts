// `npm run gauntlet`: the reliability gauntlet against a real `wrangler dev` on loopback.
// Each scenario prints pass/fail with its figure; the run ends with `N passed, N failed`.
// Flags: --only <substring>, --fuzz <frames>, --docs (rewrite docs/reliability.md from a full
// run; without it the run leaves the checkout as it was).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startFakeModel } from "../e2e/fake-model/server";
import { ROOT, startPlatform } from "../e2e/harness";
import {
  executorFrozen,
  executorKilled,
  platformRestarted,
  sameDeviceId,
  socketCut,
} from "./gauntlet/executor-faults";
import { executorSecurityScenarios } from "./gauntlet/executor-security";
import { fuzzScenario } from "./gauntlet/fuzz";
import { badInput, crossUser } from "./gauntlet/rest";
import { revokedToken } from "./gauntlet/tokens";
import { platformSecurityScenarios } from "./gauntlet/platform-security";
import { hostileSkills } from "./gauntlet/skills";
import { pairingScenarios } from "./gauntlet/pairing-takeover";
import { personOnlyScenarios } from "./gauntlet/person-only";
import { stalledRun } from "./gauntlet/stalled-run";
import { pushInternalEndpoint } from "./gauntlet/push-endpoints";
import { codexMcpSecrets } from "./gauntlet/codex-mcp";
import { type Outcome, runScenario } from "./gauntlet/runner";
import { reliabilityDoc } from "./gauntlet/doc";
import { machine } from "./lib/machine";

const { values } = parseArgs({
  options: {
    only: { type: "string" },
    fuzz: { type: "string", default: "10000" },
    docs: { type: "boolean", default: false },
  },
});

const scenarios = [
  executorKilled,
  socketCut,
  executorFrozen,
  platformRestarted,
  sameDeviceId,
  ...executorSecurityScenarios,
  fuzzScenario(Number(values.fuzz)),
  badInput,
  crossUser,
  revokedToken,
  ...platformSecurityScenarios,
  hostileSkills,
  ...pairingScenarios,
  ...personOnlyScenarios,
  stalledRun,
  pushInternalEndpoint,
  codexMcpSecrets,
].filter((s) => !values.only || values.only.split(",").some((part) => s.name.includes(part)));

const started = Date.now();
const platform = await startPlatform();
const fake = await startFakeModel();
const outcomes: Outcome[] = [];
try {
  console.log(`gauntlet: wrangler dev on ${platform.origin} (grace 15 s, ping timeout 25 s)\n`);
  for (const scenario of scenarios) {
    const outcome = await runScenario(platform, scenario, fake);
    outcomes.push(outcome);
    console.log(
      `${outcome.passed ? "PASS" : "FAIL"}  ${outcome.name} (${outcome.seconds.toFixed(1)} s) — ${outcome.figure}`,
    );
  }
} finally {
  await fake.close();
  await platform.stop();
}
const passed = outcomes.filter((o) => o.passed).length;
const failed = outcomes.length - passed;
const seconds = (Date.now() - started) / 1000;
if (values.docs && !values.only) {
  const file = join(ROOT, "docs/reliability.md");
  const current = existsSync(file) ? readFileSync(file, "utf8") : "";
  writeFileSync(file, reliabilityDoc(outcomes, machine(), seconds, current));
  console.log("\nwrote docs/reliability.md");
}
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
