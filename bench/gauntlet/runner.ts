// Runs scenarios one after another against one platform, each with fresh users, and after each
// checks that nothing was left behind (no non-terminal task, no slot or queue entry).
import type { startFakeModel } from "../../e2e/fake-model/server";
import type { Platform } from "../../e2e/harness";
import { leftovers, newUser } from "../lib/platform";
import type { GauntletContext, Scenario } from "./context";

export interface Outcome {
  name: string;
  passed: boolean;
  figure: string;
  seconds: number;
}

export async function runScenario(
  platform: Platform,
  scenario: Scenario,
  fake: Awaited<ReturnType<typeof startFakeModel>>,
): Promise<Outcome> {
  const ctx: GauntletContext = {
    platform,
    fake,
    users: [],
    executors: [],
    cleanups: [],
    async newUser() {
      const user = await newUser(platform.origin, "gauntlet");
      ctx.users.push(user);
      return user;
    },
  };
  const started = Date.now();
  let passed = true;
  let figure: string;
  try {
    figure = await scenario.run(ctx);
  } catch (error) {
    passed = false;
    figure = error instanceof Error ? error.message : String(error);
  }
  for (const clean of ctx.cleanups) {
    try {
      await clean();
    } catch {
      // best effort
    }
  }
  for (const ex of ctx.executors) await ex.stop("SIGKILL");
  // Leftovers are checked after the executors are gone: their tasks must still end.
  const problems: string[] = [];
  for (const user of ctx.users) problems.push(...(await leftovers(platform.origin, user, 30_000)));
  if (problems.length) {
    passed = false;
    figure += ` | leftovers: ${problems.join(", ")}`;
  }
  return { name: scenario.name, passed, figure, seconds: (Date.now() - started) / 1000 };
}
