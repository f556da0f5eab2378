// The fast subset of the reliability gauntlet (`npm run gauntlet`), run with the e2e tests: a
// socket cut within the grace through a loopback proxy (byte-identical output), ~1,000 fuzzed
// frames, bad input on every REST route, a revoked token's socket, and the platform's security
// scenarios of issue #10. Each scenario is also
// checked for leftovers (no non-terminal task, no slot or queue entry).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeModel, startFakeModel } from "./fake-model/server";
import { type Platform, startPlatform } from "./harness";
import { socketCut } from "../bench/gauntlet/executor-faults";
import * as executorSecurity from "../bench/gauntlet/executor-security";
import { fuzzScenario } from "../bench/gauntlet/fuzz";
import { badInput } from "../bench/gauntlet/rest";
import { revokedToken } from "../bench/gauntlet/tokens";
import {
  bigFrames,
  credentialReuse,
  credentialScope,
  crossSite,
  parallelSignIns,
  revokedTokenLive,
} from "../bench/gauntlet/platform-security";
import * as pairing from "../bench/gauntlet/pairing-takeover";
import { runScenario } from "../bench/gauntlet/runner";
import { mcpHeaderExfiltration, scriptTokenPaths } from "../bench/gauntlet/person-only";
import type { Scenario } from "../bench/gauntlet/context";
import { sandboxIt } from "../executor/test/needs-sandbox";
import { pushInternalEndpoint } from "../bench/gauntlet/push-endpoints";
import { codexMcpSecrets } from "../bench/gauntlet/codex-mcp";
import { codexCloudKey } from "../bench/gauntlet/codex-cloud";

let platform: Platform;
let fake: FakeModel;

beforeAll(async () => {
  platform = await startPlatform();
  fake = await startFakeModel();
}, 180_000);

afterAll(async () => {
  await fake?.close();
  await platform?.stop();
});

async function pass(scenario: Scenario) {
  const outcome = await runScenario(platform, scenario, fake);
  expect(outcome.figure).toBeTypeOf("string");
  // The figure says what went wrong: printed whole when a scenario fails.
  expect(outcome.passed, `${scenario.name}: ${outcome.figure}`).toBe(true);
}

describe("reliability gauntlet (CI subset)", () => {
  it("refuses a push endpoint that points at an internal address", () =>
    pass(pushInternalEndpoint));

  it("keeps a Codex task's managed MCP variable off every command line and out of Codex's env", () =>
    pass(codexMcpSecrets));

  it("keeps a reply byte-identical when the executor's socket is cut within the grace", () =>
    pass(socketCut));
  it("hides the token and credential from a local agent walking /proc", () =>
    pass(executorSecurity.localCredentialHunt));
  sandboxIt("keeps the operator token and model key out of a cloud agent's reach", () =>
    pass(executorSecurity.cloudCredentialHunt),
  );
  sandboxIt("keeps cloud tenants out of each other's files and processes", () =>
    pass(executorSecurity.cloudCrossTenant),
  );
  it("leaves no agent after kill -9 of the executor, and sweeps leftovers on restart", () =>
    pass(executorSecurity.killedExecutorOrphans));
  it("catches a copied device credential at the executor's next connect", () =>
    pass(executorSecurity.copiedCredential));
  it("never runs a git config an agent planted in its workspace", () =>
    pass(executorSecurity.plantedGitConfig));
  sandboxIt(
    "never runs a git filter or diff driver a cloud agent planted, in the Changes tab",
    () => pass(executorSecurity.plantedGitCloud),
  );
  sandboxIt(
    "never reads or deletes outside a cloud agent's folder while it swaps a folder for a symlink",
    () => pass(executorSecurity.swappedFolderCloud),
  );
  it("keeps a local device's idle workspace on the machine: its cleanup uploads nothing", () =>
    pass(executorSecurity.localStaysLocal));
  it("leaves no file of a deleted task on its device (folder, snapshot, session)", () =>
    pass(executorSecurity.deletedTaskForgotten));
  sandboxIt(
    "lets a cloud agent reach nothing on the host and holds its fork bomb and /tmp to the limits",
    () => pass(executorSecurity.cloudNetworkAndLimits),
  );
  sandboxIt(
    "keeps the OpenAI key out of a cloud Codex agent's reach and its proxy to inference",
    () => pass(codexCloudKey),
  );
  it("answers 1,000 fuzzed frames with errors, closes abusers with 4008 and stays up", () =>
    pass(fuzzScenario(1000)));
  it("never answers bad input on any REST route with a 5xx", () => pass(badInput));
  it("drops a revoked token's socket within 5 s", () => pass(revokedToken));
  it("refuses a device credential on other routes and for other devices", () =>
    pass(credentialScope));
  it("detects credential reuse after rotation and revokes the device", () => pass(credentialReuse));
  it("closes a revoked token's (and a signed-out session's) live socket within 1 s", () =>
    pass(revokedTokenLive));
  it("refuses cross-site writes and upgrades", () => pass(crossSite));
  it("checks at most 5 passwords of 40 parallel wrong sign-ins", () => pass(parallelSignIns));
  it("refuses 3 MB multi-byte frames and ends a 9 MB reply without stranding it", () =>
    pass(bigFrames));
  it("never lets a pairing take over a running device of the approver", () =>
    pass(pairing.pairingTakeover));
  it("gives npm start's executor and the README's two device ids on one machine", () =>
    pass(pairing.twoExecutorsOneMachine));
  it("throttles a burst of 12 parallel sign-ups from one address", () => pass(pairing.signUpBurst));
  it("refuses a device token used again after its exchange and raises token_reuse", () =>
    pass(pairing.reusedDeviceToken));
  it("refuses skill zips whose names clash (file/folder, NFC/NFD, case)", () =>
    pass(pairing.clashingSkillZips));
  it("refuses a script token's stdio MCP server, Allow, permission mode and pairing approval", () =>
    pass(scriptTokenPaths));
  it("never sends a device secret to a managed MCP server's URL, nor starts stdio on an asking device", () =>
    pass(mcpHeaderExfiltration));
});
