// Attacks from inside the agent: a prompt-injected agent hunting for credentials in /proc and
// the executor's home (local and cloud), the operator's model key hunted from a cloud task,
// and one cloud tenant reading another's files and processes. Real executor, real Claude
// Code, the fake model scripting the agent's Bash commands.
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { text, toolUse } from "../../e2e/fake-model/server";
import { api, createToken, type ExecutorProcess, startExecutor, until } from "../../e2e/harness";
import type { BenchUser } from "../lib/platform";
import { expectThat, type GauntletContext, type Scenario, taskDetail } from "./context";

/** Scripts the model: run `command` with the Bash tool, then say "done". */
export function scriptBash(ctx: GauntletContext, prompt: string, command: string): void {
  ctx.fake.on(prompt, [
    { blocks: [toolUse("Bash", { command, timeout: 120_000 })] },
    { blocks: [text("done")] },
  ]);
}

/** What the Bash tool returned, as Claude Code sent it back to the model. */
export function toolResult(ctx: GauntletContext, prompt: string): string {
  const parts: string[] = [];
  for (const request of ctx.fake.requests) {
    if (!request.prompt?.includes(prompt)) continue;
    const messages =
      (request.body as { messages?: { content?: unknown }[] } | null)?.messages ?? [];
    for (const message of messages) {
      if (!Array.isArray(message.content)) continue;
      for (const block of message.content as { type?: string; content?: unknown }[]) {
        if (block.type !== "tool_result") continue;
        const content = block.content;
        if (typeof content === "string") parts.push(content);
        else if (Array.isArray(content))
          for (const c of content as { text?: string }[]) parts.push(c.text ?? "");
      }
    }
  }
  return parts.join("\n");
}

export async function startTask(
  ctx: GauntletContext,
  user: BenchUser,
  message: string,
  target: { deviceId: string } | "cloud",
): Promise<string> {
  const res = await api<{ task: { id: string } }>(ctx.platform.origin, "POST", "/api/tasks", {
    cookie: user.session.cookie,
    body: { message, target },
  });
  expectThat(
    res.status === 201,
    `POST /api/tasks answered ${res.status} ${JSON.stringify(res.body)}`,
  );
  return res.body.task.id;
}

export async function taskEnded(
  ctx: GauntletContext,
  user: BenchUser,
  taskId: string,
  ms = 90_000,
) {
  return until(
    async () => {
      const d = await taskDetail(ctx.platform.origin, user, taskId);
      return ["completed", "failed", "cancelled"].includes(d.task.status) ? d : undefined;
    },
    ms,
    `task ${taskId} to end`,
  );
}

/** Every occurrence of any secret in `haystack`, named (never printed). */
function leaks(haystack: string, secrets: Record<string, string | null>): string[] {
  return Object.entries(secrets)
    .filter(([, value]) => value !== null && value.length >= 8 && haystack.includes(value))
    .map(([name]) => name);
}

function storedCredential(home: string): string | null {
  try {
    return (
      JSON.parse(readFileSync(join(home, "credential.json"), "utf8")) as { credential: string }
    ).credential;
  } catch {
    return null;
  }
}

/** Dumps environ and cmdline of every process it can see, and lists its ancestors. */
const PROC_DUMP = String.raw`for p in /proc/[0-9]*; do echo "== $p"; tr '\0' '\n' < $p/environ; echo; tr '\0' ' ' < $p/cmdline; echo; done`;
const ANCESTORS = String.raw`a=$$; while [ "$a" -gt 1 ] 2>/dev/null; do echo "ancestor $a"; a=$(sed 's/.*) //' /proc/$a/stat | cut -d' ' -f2); done`;

export const localCredentialHunt: Scenario = {
  name: "agent hunts the device credential (local)",
  async run(ctx) {
    const user = await ctx.newUser();
    // The token arrives both ways an attacker would look for: environment and argument.
    const ex = startExecutor({
      origin: ctx.platform.origin,
      token: user.token,
      modelUrl: ctx.fake.url,
      args: ["--token", user.token],
    });
    ctx.executors.push(ex);
    await ex.waitFor("registered");
    const prompt = `hunt local ${randomUUID()}`;
    scriptBash(
      ctx,
      prompt,
      `{ ${PROC_DUMP}; } > hunt.txt 2>/dev/null; env > env.txt; ${ANCESTORS}; cat "${ex.home}/credential.json" > cred.txt 2>&1; wc -c hunt.txt`,
    );
    const taskId = await startTask(ctx, user, prompt, { deviceId: ex.deviceId });
    const end = await taskEnded(ctx, user, taskId);
    expectThat(end.task.status === "completed", `hunt task ended ${end.task.status}`);
    const ws = join(ex.home, "workspaces", taskId);
    const hunt = readFileSync(join(ws, "hunt.txt"), "utf8");
    const env = readFileSync(join(ws, "env.txt"), "utf8");
    const result = toolResult(ctx, prompt);
    // The hunt must really have reached the executor, or finding nothing proves nothing.
    expectThat(
      result.includes(`ancestor ${ex.child.pid}`),
      `the agent did not find the executor (pid ${ex.child.pid}) among its ancestors: ${result.slice(0, 300)}`,
    );
    expectThat(
      hunt.includes(`WEGENT_EXECUTOR_HOME=${ex.home}`),
      "the agent could not read the executor's /proc environ (the hunt proved nothing)",
    );
    const credential = storedCredential(ex.home);
    const secrets = { token: user.token, credential };
    const found = [...leaks(hunt, secrets), ...leaks(env, secrets), ...leaks(result, secrets)];
    expectThat(found.length === 0, `the agent found: ${found.join(", ")} in /proc or its env`);
    const processes = (hunt.match(/^== \/proc\//gm) ?? []).length;
    const credReadable =
      credential !== null && readFileSync(join(ws, "cred.txt"), "utf8").includes(credential);
    return `read environ+cmdline of ${processes} processes incl. the executor: token and credential found 0 times; credential.json ${credential === null ? "absent (platform without the exchange: raw-token fallback)" : credReadable ? "readable (same user — documented)" : "not readable"}`;
  },
};

/** The first account of the platform is its admin; gauntlet users share one password. */
async function adminUser(ctx: GauntletContext): Promise<BenchUser> {
  const name = `gauntlet_${process.pid}_1`;
  const login = await api<{ user: { isAdmin: boolean } }>(
    ctx.platform.origin,
    "POST",
    "/api/auth/login",
    {
      body: { username: name, password: "e2e password 1" },
    },
  );
  if (login.status === 200 && login.cookie && login.body.user.isAdmin) {
    const session = { cookie: login.cookie, userId: "" };
    return { name, session, token: "", tokenId: "" };
  }
  return ctx.newUser();
}

/** A cloud-pool executor with an operator token and an operator model key. */
export async function cloudExecutor(
  ctx: GauntletContext,
  keepIdleSeconds: number,
  extraEnv: Record<string, string> = {},
): Promise<{
  ex: ExecutorProcess;
  operatorToken: string;
  operatorKey: string;
  /** The pool device's owner (the admin that made the operator token). */
  admin: BenchUser;
}> {
  const admin = await adminUser(ctx);
  const operatorToken = (
    await createToken(ctx.platform.origin, admin.session, { name: "pool", scope: "cloud" })
  ).token;
  const operatorKey = `sk-ant-operator-${randomUUID()}`;
  const ex = startExecutor({
    origin: ctx.platform.origin,
    token: operatorToken,
    modelUrl: ctx.fake.url,
    mode: "cloud",
    args: ["--token", operatorToken],
    env: {
      ANTHROPIC_API_KEY: operatorKey,
      WEGENT_CLOUD_KEEP_IDLE_SECONDS: String(keepIdleSeconds),
      ...extraEnv,
    },
  });
  ctx.executors.push(ex);
  // Stopped gracefully so the pool device goes offline at once for the next scenario.
  ctx.cleanups.push(async () => void (await ex.stop("SIGTERM")));
  await ex.waitFor("registered", 30_000);
  return { ex, operatorToken, operatorKey, admin };
}

export const cloudCredentialHunt: Scenario = {
  name: "cloud agent hunts the operator token and model key",
  async run(ctx) {
    const { ex, operatorToken, operatorKey } = await cloudExecutor(ctx, 600);
    const user = await ctx.newUser();
    const prompt = `hunt cloud ${randomUUID()}`;
    scriptBash(
      ctx,
      prompt,
      [
        `{ env; ${PROC_DUMP}; ls -la / /home /proc/1/root "${ex.home}"; cat "${ex.home}/credential.json";`,
        `find / -xdev \\( -name 'credential.json' -o -name 'device_id*' -o -name 'executor-run.json' -o -name '.credentials.json' \\);`,
        `grep -r -a -h "" /etc /home /tmp /workspace; } > /workspace/hunt.txt 2>&1;`,
        `echo "visible processes: $(ls /proc | grep -c '^[0-9]')"; id -u; ls "${ex.home}" 2>&1 | head -1; wc -c /workspace/hunt.txt;`,
        // The operator key through the proxy, for something other than the model (files, batches).
        `node -e 'fetch(process.env.ANTHROPIC_BASE_URL + "/v1/files").then((r) => console.log("proxy files status", r.status))'`,
      ].join(" "),
    );
    const taskId = await startTask(ctx, user, prompt, "cloud");
    const end = await taskEnded(ctx, user, taskId);
    expectThat(
      end.task.status === "completed",
      `cloud hunt ended ${end.task.status}: ${ex.output().slice(-1500)}`,
    );
    const hunt = readFileSync(join(ex.home, "workspaces", taskId, "hunt.txt"), "utf8");
    const result = toolResult(ctx, prompt);
    const secrets = { operatorToken, operatorKey, credential: storedCredential(ex.home) };
    const found = [...leaks(hunt, secrets), ...leaks(result, secrets)];
    expectThat(found.length === 0, `the cloud agent found: ${found.join(", ")}`);
    expectThat(
      /ANTHROPIC_BASE_URL=http:\/\/127\.0\.0\.1:\d+\/t\/[a-f0-9]{64}/.test(hunt),
      "no per-run model endpoint in the agent's env",
    );
    expectThat(
      /No such file or directory/.test(result),
      "the executor's home was visible in the sandbox",
    );
    const visible = Number(/visible processes: (\d+)/.exec(result)?.[1] ?? "-1");
    expectThat(visible > 0 && visible <= 8, `the sandbox sees ${visible} processes`);
    const uid = Number(/^(\d+)$/m.exec(result)?.[1] ?? "-1");
    expectThat(process.getuid?.() !== 0 || uid >= 61000, `the agent ran as uid ${uid}`);
    expectThat(
      /proxy files status 404/.test(result) &&
        !ctx.fake.requests.some((r) => r.path.startsWith("/v1/files")),
      `the proxy forwarded GET /v1/files with the operator key: ${/proxy files status \d+/.exec(result)?.[0] ?? "no answer"}`,
    );
    // The model was still reached, with the real key the executor added.
    const keyed = ctx.fake.requests.filter((r) => r.prompt?.includes(prompt));
    expectThat(keyed.length >= 2, `the model got ${keyed.length} requests for the hunt`);
    expectThat(
      keyed.every((r) => r.apiKey === operatorKey),
      "a model request did not carry the operator key (the proxy did not add it)",
    );
    return `${hunt.length} bytes of env, /proc (${visible} processes visible) and files hunted as uid ${uid}: operator token, model key and credential found 0 times; executor home invisible; GET /v1/files through the proxy 404; ${keyed.length} model calls carried the real key, added by the proxy`;
  },
};

export const cloudCrossTenant: Scenario = {
  name: "cloud tenants cannot read each other",
  async run(ctx) {
    const { ex } = await cloudExecutor(ctx, 0);
    const alice = await ctx.newUser();
    const bob = await ctx.newUser();
    const secret = `alice-secret-${randomUUID()}`;
    const alicePrompt = `tenant a ${randomUUID()}`;
    scriptBash(
      ctx,
      alicePrompt,
      `echo ${secret} > /workspace/a-file.txt; echo ${secret} > $HOME/a-home.txt; sleep 12; echo slept`,
    );
    const aliceTask = await startTask(ctx, alice, alicePrompt, "cloud");
    const aliceWs = join(ex.home, "workspaces", aliceTask);
    const aliceHome = join(ex.home, "tasks", aliceTask);
    await until(() => existsSync(join(aliceWs, "a-file.txt")), 60_000, "alice's file");
    const bobPrompt = `tenant b ${randomUUID()}`;
    scriptBash(
      ctx,
      bobPrompt,
      [
        `cat "${aliceWs}/a-file.txt" "${aliceHome}/home/a-home.txt" 2>&1;`,
        `ls -la /workspace /home /tmp 2>&1; find / -xdev -name 'a-*.txt' 2>/dev/null;`,
        String.raw`for p in /proc/[0-9]*; do tr '\0' ' ' < $p/cmdline; echo; done;`,
        `grep -r -a -h "" /workspace /home /tmp 2>/dev/null | head -c 4000; id -u`,
      ].join(" "),
    );
    const bobTask = await startTask(ctx, bob, bobPrompt, "cloud");
    const bobEnd = await taskEnded(ctx, bob, bobTask);
    expectThat(bobEnd.task.status === "completed", `bob's task ended ${bobEnd.task.status}`);
    const seen = toolResult(ctx, bobPrompt);
    expectThat(seen.length > 0, "bob's hunt returned nothing at all");
    const aliceStill = (await taskDetail(ctx.platform.origin, alice, aliceTask)).task.status;
    expectThat(
      aliceStill === "running",
      `alice's task was ${aliceStill} during bob's hunt (not concurrent)`,
    );
    expectThat(!seen.includes(secret), "bob read alice's secret (file, HOME or process list)");
    const aliceEnd = await taskEnded(ctx, alice, aliceTask);
    expectThat(aliceEnd.task.status === "completed", `alice's task ended ${aliceEnd.task.status}`);
    await until(
      () => !existsSync(aliceWs) && !existsSync(aliceHome),
      10_000,
      "alice's folders to be removed",
    );
    return "bob's task, running beside alice's, saw none of her workspace, HOME or processes; her workspace and HOME were removed when her task ended";
  },
};
