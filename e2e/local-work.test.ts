// Local work, end to end: real git repositories made here, the real executor in local mode with
// the user's HOME (a temp dir standing in for it), real Claude Code against the fake model.
import { scene } from "./scene";
import { execFileSync, spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type {
  Device,
  LocalSessionsBody,
  LocalTranscriptBody,
  TaskWithMessages,
} from "@wegent/protocol";
import { horizontalOverflow, launchChromium, screenshot } from "./browser";
import { text, toolUse } from "./fake-model/server";
import { api, type ExecutorProcess, ROOT, startExecutor, until } from "./harness";

const CLAUDE = join(ROOT, "node_modules/@anthropic-ai/claude-agent-sdk-linux-x64/claude");

const s = scene("local_user");

/** The user's machine: HOME, a projects root with repositories, a folder outside it. */
let userHome: string;
let root: string;
let alpha: string;
let beta: string;
let plain: string;
let outside: string;
let terminalSessionId: string;
let main: ExecutorProcess;
let projects: Device["projects"];

function runClaude(args: string[], cwd: string, env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(CLAUDE, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`claude exited with ${code}: ${out}`));
    });
  });
}

const sh = (cwd: string, ...args: string[]) =>
  execFileSync("git", args, { cwd, encoding: "utf8" }).trim();

function repo(path: string): string {
  mkdirSync(path, { recursive: true });
  sh(path, "init", "-q", "-b", "main");
  writeFileSync(join(path, "README.md"), "hello\n");
  sh(path, "add", "README.md");
  sh(path, "-c", "user.email=u@e", "-c", "user.name=u", "commit", "-q", "-m", "init");
  return path;
}

const modelEnv = () => ({
  ANTHROPIC_BASE_URL: s.fake.url,
  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
  CLAUDE_CODE_MAX_RETRIES: "0",
  IS_SANDBOX: "1",
});

async function devices() {
  return (await api<{ devices: Device[] }>(s.platform.origin, "GET", "/api/devices", s.user)).body
    .devices;
}

async function detail(taskId: string) {
  return (await api<TaskWithMessages>(s.platform.origin, "GET", `/api/tasks/${taskId}`, s.user))
    .body;
}

async function settled(taskId: string, ms = 90_000) {
  return until(
    async () => {
      const d = await detail(taskId);
      return ["completed", "failed", "cancelled"].includes(d.task.status) ? d : undefined;
    },
    ms,
    `task ${taskId} to end`,
  );
}

async function createTask(body: unknown) {
  return api<TaskWithMessages>(s.platform.origin, "POST", "/api/tasks", { ...s.user, body });
}

/** The worktree git made for a branch of `repoPath`. */
function worktreeOf(repoPath: string, branch: string): string {
  const list = sh(repoPath, "worktree", "list", "--porcelain");
  const block = list.split("\n\n").find((b) => b.includes(`branch refs/heads/${branch}`));
  const path = block?.split("\n")[0]?.replace(/^worktree /, "");
  if (!path) throw new Error(`no worktree for ${branch}:\n${list}`);
  return path;
}

beforeAll(async () => {
  userHome = mkdtempSync(join(tmpdir(), "wegent-user-home-"));
  // The login shell's profile: proves the agent gets the user's login environment.
  writeFileSync(
    join(userHome, ".profile"),
    "export E2E_FROM_PROFILE=from-profile WEGENT_E2E_LEAK=leaked\n",
  );
  const machine = mkdtempSync(join(tmpdir(), "wegent-machine-"));
  root = join(machine, "code");
  alpha = repo(join(root, "alpha"));
  beta = repo(join(root, "team", "beta"));
  outside = repo(join(machine, "secret-repo"));
  symlinkSync(outside, join(root, "escape"));
  plain = join(machine, "notes");
  mkdirSync(plain);

  // A session started in a terminal with the real claude binary, before the executor runs.
  s.fake.on("terminal session hello", [{ blocks: [text("Hello from the terminal.")] }]);
  // Not execFileSync: the fake model answers from this very process.
  await runClaude(["-p", "terminal session hello"], alpha, {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: userHome,
    ANTHROPIC_API_KEY: "sk-e2e-fake",
    ...modelEnv(),
  });
  const sessions = readdirSync(
    join(userHome, ".claude", "projects", alpha.replace(/[^a-zA-Z0-9]/g, "-")),
  );
  terminalSessionId = sessions.find((n) => n.endsWith(".jsonl"))!.replace(/\.jsonl$/, "");

  main = startExecutor({
    origin: s.platform.origin,
    token: s.token,
    modelUrl: s.fake.url,
    env: { HOME: userHome, SHELL: "/bin/sh" },
    args: ["--projects-root", root, "--project", plain, "--max-slots", "5"],
  });
  s.executors.push(main);
  await main.waitFor("registered", 60_000);
  projects = (await devices()).find((d) => d.id === main.deviceId)!.projects;
}, 240_000);

const projectNamed = (name: string) => {
  const found = projects.find((p) => p.name === name);
  if (!found) throw new Error(`no project ${name} in ${JSON.stringify(projects)}`);
  return found;
};

describe("a local device's projects", () => {
  it("offers git repositories below the root and --project folders, never a symlink leading out", () => {
    expect(projects.map((p) => p.name).sort()).toEqual(["alpha", "beta", "notes"]);
    expect(projectNamed("alpha")).toMatchObject({
      git: true,
      branch: "main",
      dirty: false,
      path: alpha,
    });
    expect(projectNamed("notes")).toMatchObject({ git: false, branch: null });
    expect(JSON.stringify(projects)).not.toContain("secret-repo");
    expect(main.output()).toMatch(/leads outside/);
    expect(main.output()).toContain("agent environment: login shell /bin/sh");
    // The test's model is on loopback (ANTHROPIC_BASE_URL): Claude Code calls that a gateway.
    expect(main.output()).toMatch(/model credentials: Gateway 127\.0\.0\.1:\d+ \(API key\)/);
  });

  it("runs a task in its own worktree with the user's HOME and login environment", async () => {
    const project = projectNamed("alpha");
    s.fake.on("where do you run", [
      {
        blocks: [
          toolUse("Bash", {
            command:
              'printf "%s\\n%s\\n%s\\n%s\\n" "$(pwd)" "$HOME" "$E2E_FROM_PROFILE" "$WEGENT_E2E_LEAK$WEGENT_TOKEN" > where.txt',
            description: "where",
          }),
        ],
      },
      { blocks: [text("Written.")] },
    ]);
    const res = await createTask({
      message: "where do you run",
      target: { deviceId: main.deviceId, projectId: project.id },
    });
    expect(res.status).toBe(201);
    const branch = `wegent/${res.body.task.id.slice(0, 8)}`;
    expect(res.body.task).toMatchObject({ projectName: "alpha", branch });
    const done = await settled(res.body.task.id);
    expect(done.task.status).toBe("completed");
    const worktree = worktreeOf(alpha, branch);
    expect(worktree).not.toBe(alpha);
    const [pwd, home, profile, leak] = readFileSync(join(worktree, "where.txt"), "utf8").split(
      "\n",
    );
    expect(pwd).toBe(worktree);
    expect(home).toBe(userHome);
    // Exported by ~/.profile, which only the login shell reads; no WEGENT_* variable gets through.
    expect(profile).toBe("from-profile");
    expect(leak).toBe("");
    expect(existsSync(join(alpha, "where.txt"))).toBe(false);

    // A follow-up works in the same worktree, on the same branch.
    s.fake.on("and again", [
      { blocks: [toolUse("Bash", { command: "pwd > again.txt", description: "again" })] },
      { blocks: [text("Again.")] },
    ]);
    const follow = await api<TaskWithMessages>(
      s.platform.origin,
      "POST",
      `/api/tasks/${res.body.task.id}/messages`,
      { ...s.user, body: { message: "and again" } },
    );
    expect(follow.status).toBe(201);
    expect((await settled(res.body.task.id)).task.status).toBe("completed");
    expect(readFileSync(join(worktree, "again.txt"), "utf8").trim()).toBe(worktree);
  });

  it("runs two tasks in one project at once on two branches; the main checkout stays clean", async () => {
    const project = projectNamed("alpha");
    for (const n of ["one", "two"]) {
      s.fake.on(`write same file ${n}`, [
        {
          blocks: [
            toolUse("Bash", {
              command: `sleep 1; echo ${n} > same.txt && git add same.txt && git -c user.email=a@e -c user.name=a commit -qm ${n}`,
              description: "write",
            }),
          ],
          delayMs: 20,
        },
        { blocks: [text(`Wrote ${n}.`)] },
      ]);
    }
    const [a, b] = await Promise.all(
      ["one", "two"].map((n) =>
        createTask({
          message: `write same file ${n}`,
          target: { deviceId: main.deviceId, projectId: project.id },
        }),
      ),
    );
    expect([a!.body.messages[1]!.status, b!.body.messages[1]!.status]).toEqual([
      "running",
      "running",
    ]);
    const ends = await Promise.all([settled(a!.body.task.id), settled(b!.body.task.id)]);
    expect(ends.map((d) => d.task.status)).toEqual(["completed", "completed"]);
    expect(sh(alpha, "show", `${a!.body.task.branch}:same.txt`)).toBe("one");
    expect(sh(alpha, "show", `${b!.body.task.branch}:same.txt`)).toBe("two");
    expect(sh(alpha, "status", "--porcelain")).toBe("");
    expect(sh(alpha, "branch", "--show-current")).toBe("main");
    expect(existsSync(join(alpha, "same.txt"))).toBe(false);
  });
});

describe("a project that is not a git repository", () => {
  it("runs in the folder itself, one task at a time; the next waits with the reason", async () => {
    const project = projectNamed("notes");
    for (const n of ["first", "second"]) {
      s.fake.on(`note ${n}`, [
        {
          blocks: [toolUse("Bash", { command: `sleep 2; pwd > ${n}.txt`, description: "note" })],
        },
        { blocks: [text(`Noted ${n}.`)] },
      ]);
    }
    const first = await createTask({
      message: "note first",
      target: { deviceId: main.deviceId, projectId: project.id },
    });
    const second = await createTask({
      message: "note second",
      target: { deviceId: main.deviceId, projectId: project.id },
    });
    expect(first.body.task.branch).toBeNull();
    const waiting = (await detail(second.body.task.id)).messages[1]!;
    expect(waiting.status).toBe("queued");
    expect(waiting.queueReason).toContain("notes");
    const ends = await Promise.all([settled(first.body.task.id), settled(second.body.task.id)]);
    expect(ends.map((d) => d.task.status)).toEqual(["completed", "completed"]);
    expect(readFileSync(join(plain, "first.txt"), "utf8").trim()).toBe(plain);
    expect(readFileSync(join(plain, "second.txt"), "utf8").trim()).toBe(plain);
  });
});

describe("sessions already on the machine", () => {
  it("lists a terminal session, shows its transcript and continues it in its directory", async () => {
    const project = projectNamed("alpha");
    const asked = performance.now();
    const list = await api<LocalSessionsBody>(
      s.platform.origin,
      "GET",
      `/api/devices/${main.deviceId}/sessions?projectId=${project.id}`,
      s.user,
    );
    expect(list.status).toBe(200);
    console.log(
      `local sessions listed through the device in ${Math.round(performance.now() - asked)} ms`,
    );
    expect(list.body.sessions).toContainEqual(
      expect.objectContaining({
        id: terminalSessionId,
        projectId: project.id,
        title: "terminal session hello",
      }),
    );
    const transcript = await api<LocalTranscriptBody>(
      s.platform.origin,
      "GET",
      `/api/devices/${main.deviceId}/sessions/${terminalSessionId}`,
      s.user,
    );
    expect(transcript.body.messages.map((m) => m.text)).toEqual([
      "terminal session hello",
      "Hello from the terminal.",
    ]);
    const unknown = await api(
      s.platform.origin,
      "GET",
      `/api/devices/${main.deviceId}/sessions/0000-none`,
      s.user,
    );
    expect(unknown.status).toBe(404);

    s.fake.on("continue where we left off", [
      {
        blocks: [toolUse("Bash", { command: "pwd > continued.txt", description: "pwd" })],
      },
      { blocks: [text("Continued.")] },
    ]);
    const res = await createTask({
      message: "continue where we left off",
      target: { deviceId: main.deviceId, projectId: project.id },
      continueSessionId: terminalSessionId,
    });
    expect(res.status).toBe(201);
    expect(res.body.task.branch).toBe("main");
    const done = await settled(res.body.task.id);
    expect(done.task.status).toBe("completed");
    // The model saw the terminal conversation: the session was resumed, not started anew.
    const request = s.fake.requests.filter((r) => r.prompt === "continue where we left off").at(0);
    expect(JSON.stringify(request?.body)).toContain("Hello from the terminal.");
    expect(readFileSync(join(alpha, "continued.txt"), "utf8").trim()).toBe(alpha);
  });
});

describe("in the browser", () => {
  it("continues a terminal session and starts a task in a project, at 1280 and 375 px", async () => {
    const browser = await launchChromium();
    try {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      context.setDefaultTimeout(20_000);
      const [name, value] = s.user.cookie.split("=");
      await context.addCookies([{ name: name!, value: value!, url: s.platform.origin }]);
      const page = await context.newPage();
      const byTestId = (id: string) => page.getByTestId(id);
      await page.goto(s.platform.origin, { timeout: 30_000 });
      const alphaProject = projectNamed("alpha");

      // The sidebar lists the terminal session under its project; Continue picks it.
      const session = byTestId(`local-session-${terminalSessionId}`);
      await session.waitFor();
      expect(await session.textContent()).toContain("terminal session hello");
      // Its title opens its preview: the terminal conversation, read from the device.
      // (The test above continued this session once already: its exchange follows.)
      await byTestId(`preview-${terminalSessionId}`).click();
      await expect
        .poll(async () =>
          (await session.getByTestId("earlier-entry").allTextContents()).slice(0, 2),
        )
        .toEqual([
          expect.stringContaining("terminal session hello"),
          expect.stringContaining("Hello from the terminal."),
        ]);
      await screenshot(page, "local-sessions-1280");
      await byTestId(`continue-${terminalSessionId}`).click();
      await byTestId("composer-continuing").waitFor();
      expect(await byTestId("device-selector").inputValue()).toBe(`device:${main.deviceId}`);
      expect(await byTestId("project-selector").inputValue()).toBe(alphaProject.id);
      // Said truthfully: it runs in the project folder, on its current branch.
      const note = (await byTestId("project-note").textContent()) ?? "";
      expect(note).toContain(
        `Runs in the project folder ${alphaProject.path}, on its current branch main`,
      );
      expect(note).not.toContain("not touched");
      await byTestId("composer").fill("continue from the browser");
      await byTestId("send-button").click();
      await page.waitForURL(/#\/tasks\//);
      await expect.poll(() => byTestId("task-where").textContent()).toContain("alpha · main");
      const continuedId = page.url().split("/").pop()!;
      expect((await settled(continuedId)).task.status).toBe("completed");
      const request = s.fake.requests.find((r) => r.prompt === "continue from the browser");
      expect(JSON.stringify(request?.body)).toContain("Hello from the terminal.");
      // The earlier terminal conversation is shown above the new messages, also after a reload.
      for (const reload of [false, true]) {
        if (reload) await page.reload();
        const earlier = byTestId("message-list").getByTestId("earlier-conversation");
        await expect.poll(() => earlier.textContent()).toContain("Hello from the terminal.");
        // The terminal's exchange first; cut before this task's own first message.
        await expect
          .poll(async () =>
            (await earlier.getByTestId("earlier-entry").allTextContents()).slice(0, 2),
          )
          .toEqual([
            expect.stringContaining("terminal session hello"),
            expect.stringContaining("Hello from the terminal."),
          ]);
        const shown = await earlier.getByTestId("earlier-entry").allTextContents();
        expect(shown.some((t) => t.includes("continue from the browser"))).toBe(false);
        const above = await page.evaluate(() => {
          const earlierBox = document.querySelector('[data-testid="earlier-conversation"]');
          const first = document.querySelector('[data-testid="message-list"] .message.user');
          if (!earlierBox || !first) return null;
          return earlierBox.compareDocumentPosition(first) & Node.DOCUMENT_POSITION_FOLLOWING;
        });
        expect(above).toBeTruthy();
      }
      await screenshot(page, "continued-session-1280");

      // A new chat: device, then project; the task header shows device · project · branch.
      await byTestId("new-chat").click();
      await byTestId("project-selector").selectOption(alphaProject.id);
      await byTestId("project-note").waitFor();
      await byTestId("composer").fill("a task on its own branch");
      await byTestId("send-button").click();
      await page.waitForURL(/#\/tasks\//);
      const taskId = page.url().split("/").pop()!;
      await expect
        .poll(() => byTestId("task-where").textContent())
        .toContain(`alpha · wegent/${taskId.slice(0, 8)}`);

      await page.setViewportSize({ width: 375, height: 800 });
      await page.getByRole("button", { name: "Tasks" }).click();
      await byTestId(`local-session-${terminalSessionId}`).waitFor();
      expect(await horizontalOverflow(page)).toEqual({ overflow: 0, widest: null });
      await screenshot(page, "local-task-375", "viewport");
      await byTestId("new-chat").click();
      await byTestId("project-selector").waitFor();
      expect(await horizontalOverflow(page)).toEqual({ overflow: 0, widest: null });
      await screenshot(page, "local-new-chat-375", "viewport");
    } finally {
      await browser.close();
    }
  });
});

describe("what is refused", () => {
  it("refuses another device's project id, a made-up one, and a project swapped for a symlink", async () => {
    const second = startExecutor({
      origin: s.platform.origin,
      token: s.token,
      modelUrl: s.fake.url,
      env: { HOME: userHome, SHELL: "/bin/sh" },
      args: ["--projects-root", root, "--device-id", "e2e-second-executor-01"],
    });
    s.executors.push(second);
    await second.waitFor("registered", 60_000);
    const other = (await devices()).find((d) => d.id === "e2e-second-executor-01");
    expect(other).toBeDefined();
    const foreign = other!.projects.find((p) => p.name === "alpha")!;
    expect(foreign.id).not.toBe(projectNamed("alpha").id);
    for (const projectId of [foreign.id, "p_madeup000000000000"]) {
      const refused = await createTask({
        message: "hi",
        target: { deviceId: main.deviceId, projectId },
      });
      expect(refused.status).toBe(404);
      expect(refused.body).toMatchObject({ error: { code: "project_not_found" } });
    }

    // beta was offered; now a symlink to a folder outside the root takes its place.
    const project = projectNamed("beta");
    renameSync(beta, `${beta}-moved`);
    symlinkSync(outside, beta);
    const res = await createTask({
      message: "touch the swapped project",
      target: { deviceId: main.deviceId, projectId: project.id },
    });
    expect(res.status).toBe(201);
    const done = await settled(res.body.task.id);
    expect(done.messages[1]).toMatchObject({ status: "failed", errorCode: "project_unavailable" });
    expect(sh(outside, "worktree", "list")).not.toContain("wegent/");
  });
});

describe("a machine with only a Claude Code login", () => {
  it("runs a task with the login's token and says it found the login", async () => {
    const loginHome = mkdtempSync(join(tmpdir(), "wegent-login-home-"));
    mkdirSync(join(loginHome, ".claude"));
    writeFileSync(
      join(loginHome, ".claude", ".credentials.json"),
      JSON.stringify({
        claudeAiOauth: {
          accessToken: "sk-ant-oat01-e2e-login-token",
          refreshToken: "sk-ant-ort01-e2e-refresh",
          expiresAt: Date.now() + 24 * 3600_000,
          scopes: ["user:inference", "user:profile"],
          subscriptionType: "max",
        },
      }),
      { mode: 0o600 },
    );
    const ex = startExecutor({
      origin: s.platform.origin,
      token: s.token,
      modelUrl: s.fake.url,
      env: { HOME: loginHome, SHELL: "/bin/sh" },
      unsetEnv: ["ANTHROPIC_API_KEY"],
    });
    s.executors.push(ex);
    await ex.waitFor("registered", 60_000);
    expect(ex.output()).toContain("model credentials: Claude Code login");
    // The Devices page's source: what the device found of Claude Code.
    const listed = await until(
      async () => (await devices()).find((d) => d.id === ex.deviceId && d.runtimes.length > 0),
      30_000,
      "the device's runtimes",
    );
    expect(listed.runtimes[0]).toMatchObject({
      id: "claude-code",
      auth: { kind: "login", label: "Claude Code login (Max)" },
      problem: null,
    });
    expect(listed.runtimes[0]!.version).toMatch(/^\d+\.\d+/);
    expect(JSON.stringify(listed)).not.toContain("sk-ant-oat01-e2e-login-token");
    s.fake.on("logged in only", [{ blocks: [text("Works with the login.")] }]);
    const res = await createTask({ message: "logged in only", target: { deviceId: ex.deviceId } });
    const done = await settled(res.body.task.id);
    expect(done.messages[1]).toMatchObject({
      status: "completed",
      content: "Works with the login.",
    });
    const request = s.fake.requests.find((r) => r.prompt?.includes("logged in only"));
    expect(
      request?.authorization,
      JSON.stringify(s.fake.requests.slice(-3).map((r) => [r.path, r.prompt, r.authorization])),
    ).toBe("Bearer sk-ant-oat01-e2e-login-token");
    expect(request?.apiKey).toBeNull();
  });

  it("fails at once with credentials_missing and both fixes when there is neither", async () => {
    const bare = mkdtempSync(join(tmpdir(), "wegent-bare-home-"));
    const ex = startExecutor({
      origin: s.platform.origin,
      token: s.token,
      modelUrl: s.fake.url,
      env: { HOME: bare, SHELL: "/bin/sh" },
      unsetEnv: ["ANTHROPIC_API_KEY"],
    });
    s.executors.push(ex);
    await ex.waitFor("registered", 60_000);
    const res = await createTask({ message: "no credentials", target: { deviceId: ex.deviceId } });
    const done = await settled(res.body.task.id, 30_000);
    expect(done.messages[1]).toMatchObject({ status: "failed", errorCode: "credentials_missing" });
    expect(done.messages[1]!.errorMessage).toContain("claude login");
    expect(done.messages[1]!.errorMessage).toContain("ANTHROPIC_API_KEY");
    // The device says it needs attention, with the fix, before and after the message.
    const listed = (await devices()).find((d) => d.id === ex.deviceId);
    expect(listed?.runtimes[0]).toMatchObject({
      auth: { kind: "none" },
      problem: { code: "credentials_missing" },
    });
  });

  it("runs with an apiKeyHelper as the only credential; the model sees the helper's key", async () => {
    const helperHome = mkdtempSync(join(tmpdir(), "wegent-helper-home-"));
    mkdirSync(join(helperHome, ".claude"));
    writeFileSync(
      join(helperHome, ".claude", "settings.json"),
      JSON.stringify({ apiKeyHelper: "echo sk-e2e-from-the-helper" }),
    );
    const ex = startExecutor({
      origin: s.platform.origin,
      token: s.token,
      modelUrl: s.fake.url,
      env: { HOME: helperHome, SHELL: "/bin/sh" },
      unsetEnv: ["ANTHROPIC_API_KEY"],
    });
    s.executors.push(ex);
    await ex.waitFor("registered", 60_000);
    expect(ex.output()).toContain("model credentials: API key helper");
    s.fake.on("helper only", [{ blocks: [text("Works with the helper.")] }]);
    const res = await createTask({ message: "helper only", target: { deviceId: ex.deviceId } });
    const done = await settled(res.body.task.id);
    expect(done.messages[1]).toMatchObject({
      status: "completed",
      content: "Works with the helper.",
    });
    const request = s.fake.requests.find((r) => r.prompt?.includes("helper only"));
    expect(`${request?.apiKey ?? ""} ${request?.authorization ?? ""}`).toContain(
      "sk-e2e-from-the-helper",
    );
    const listed = (await devices()).find((d) => d.id === ex.deviceId);
    expect(listed?.runtimes[0]?.auth).toEqual({ kind: "api_key_helper", label: "API key helper" });
  });
});
