// The human in the loop, end to end: a real platform (wrangler dev), a real wegent-executor
// running the real Claude Code against the fake model. In `default` mode a Bash call waits for
// the user's answer (through the hub), questions are answered, a request left alone expires as
// a deny, a cut connection loses nothing, and the transcript survives a reload and is exported.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PendingInput, TaskWithMessages } from "@wegent/protocol";
import { startProxy, type CuttableProxy } from "../bench/lib/proxy";
import { type FakeModel, startFakeModel, text, toolUse, TOOL_RESULT } from "./fake-model/server";
import {
  api,
  createToken,
  type ExecutorProcess,
  type Platform,
  type Session,
  signUp,
  startExecutor,
  startPlatform,
  until,
} from "./harness";
import { openLive } from "./live-client";

// Long enough for a platform restart to fit inside one open request.
const INPUT_TIMEOUT_SECONDS = 30;
let platform: Platform;
let fake: FakeModel;
let proxy: CuttableProxy;
let user: Session;
let ex: ExecutorProcess;

beforeAll(async () => {
  platform = await startPlatform({
    vars: { DEVICE_GRACE_SECONDS: "20", INPUT_TIMEOUT_SECONDS: String(INPUT_TIMEOUT_SECONDS) },
  });
  fake = await startFakeModel();
  proxy = await startProxy(platform.port);
  user = await signUp(platform.origin, "e2e_human");
  const token = (await createToken(platform.origin, user)).token;
  // Through a proxy the test can cut; the executor does not know.
  ex = startExecutor({ origin: proxy.origin, token, modelUrl: fake.url });
  await ex.waitFor("registered");
}, 180_000);

afterAll(async () => {
  await ex?.stop("SIGKILL");
  await proxy?.close();
  await fake?.close();
  await platform?.stop();
});

const detail = async (taskId: string) =>
  (
    await api<TaskWithMessages>(platform.origin, "GET", `/api/tasks/${taskId}`, {
      cookie: user.cookie,
    })
  ).body;

async function start(message: string) {
  const res = await api<TaskWithMessages>(platform.origin, "POST", "/api/tasks", {
    cookie: user.cookie,
    body: { message, permissionMode: "default" },
  });
  expect(res.status).toBe(201);
  return res.body.task.id;
}

async function waitingRequest(taskId: string): Promise<PendingInput> {
  const d = await until(
    async () => {
      const got = await detail(taskId);
      return got.pendingInput.length > 0 ? got : null;
    },
    60_000,
    "a request for the user's input",
  );
  expect(d.messages.find((m) => m.role === "assistant")?.status).toBe("waiting_input");
  return d.pendingInput[0]!;
}

const answer = (taskId: string, requestId: string, body: unknown) =>
  api(platform.origin, "POST", `/api/tasks/${taskId}/input/${requestId}`, {
    cookie: user.cookie,
    body,
  });

async function settled(taskId: string) {
  return until(
    async () => {
      const d = await detail(taskId);
      return ["completed", "failed", "cancelled"].includes(d.task.status) ? d : null;
    },
    60_000,
    `task ${taskId} to end`,
  );
}

function bashRule(prompt: string, file: string) {
  fake.on(prompt, [
    {
      blocks: [
        text("Writing the file."),
        toolUse("Bash", { command: `printf approved > ${file}`, description: `write ${file}` }),
      ],
    },
    { blocks: [text(`Tool said: ${TOOL_RESULT}`)] },
  ]);
}

describe("permission requests, live through the hub", () => {
  it("a Bash call waits for approval and runs after Allow; the transcript survives a reload and is exported", async () => {
    bashRule("approve my bash", "allowed.txt");
    const live = await openLive(platform.origin, user.cookie);
    const taskId = await start("approve my bash");
    const request = await waitingRequest(taskId);
    expect(request).toMatchObject({
      kind: "permission",
      tool: "Bash",
      input: { command: "printf approved > allowed.txt" },
    });
    await live.waitFor("input:request", (f) => f.request.requestId === request.requestId, 5_000);
    const workspace = join(ex.home, "workspaces", taskId);
    // It waits: nothing ran yet.
    await new Promise((r) => setTimeout(r, 1000));
    expect(existsSync(join(workspace, "allowed.txt"))).toBe(false);
    const res = await answer(taskId, request.requestId, { behavior: "allow" });
    expect(res.status).toBe(200);
    await live.waitFor("input:resolved", (f) => f.requestId === request.requestId, 5_000);
    const done = await settled(taskId);
    expect(done.task.status).toBe("completed");
    expect(readFileSync(join(workspace, "allowed.txt"), "utf8")).toBe("approved");
    // A second answer (another tab) is refused and changes nothing.
    expect((await answer(taskId, request.requestId, { behavior: "deny" })).status).toBe(404);

    // After a reload: the stored blocks show the tool call and its result, as the live view did.
    const reply = done.messages.find((m) => m.role === "assistant")!;
    const tool = reply.blocks.find((b) => b.type === "tool_use");
    expect(tool).toMatchObject({
      name: "Bash",
      input: { command: "printf approved > allowed.txt" },
    });
    expect(reply.blocks.some((b) => b.type === "tool_result" && !b.isError)).toBe(true);
    expect(
      reply.blocks
        .filter((b) => b.type === "text")
        .map((b) => b.text)
        .join(""),
    ).toBe(reply.content);
    const md = await api<string>(platform.origin, "GET", `/api/tasks/${taskId}/export?format=md`, {
      cookie: user.cookie,
    });
    expect(md.body).toContain("**Tool: Bash**");
    expect(md.body).toContain("printf approved > allowed.txt");
    const json = await api<TaskWithMessages>(
      platform.origin,
      "GET",
      `/api/tasks/${taskId}/export?format=json`,
      { cookie: user.cookie },
    );
    expect(json.body.messages.at(-1)?.blocks).toEqual(reply.blocks);
    live.close();
  });

  it("a Deny refuses the call and the agent is told why", async () => {
    bashRule("deny my bash", "denied.txt");
    const taskId = await start("deny my bash");
    const request = await waitingRequest(taskId);
    const res = await answer(taskId, request.requestId, {
      behavior: "deny",
      message: "not on my laptop",
    });
    expect(res.status).toBe(200);
    const done = await settled(taskId);
    expect(existsSync(join(ex.home, "workspaces", taskId, "denied.txt"))).toBe(false);
    expect(done.messages.at(-1)?.content).toContain("not on my laptop");
  });

  it("an answer given across a cut and restored executor connection still arrives", async () => {
    bashRule("survive a cut", "cut.txt");
    const taskId = await start("survive a cut");
    const request = await waitingRequest(taskId);
    const before = ex.output().split("registered again").length;
    expect(proxy.cut()).toBeGreaterThan(0);
    await until(
      () => ex.output().split("registered again").length > before,
      20_000,
      "the executor to register again",
    );
    // The request is still open on the hub after the reconnect; the agent kept waiting.
    expect((await detail(taskId)).pendingInput.map((p) => p.requestId)).toEqual([
      request.requestId,
    ]);
    expect((await answer(taskId, request.requestId, { behavior: "allow" })).status).toBe(200);
    const done = await settled(taskId);
    expect(done.task.status).toBe("completed");
    expect(readFileSync(join(ex.home, "workspaces", taskId, "cut.txt"), "utf8")).toBe("approved");
  });

  it("an open request survives a platform restart; the answer reaches the executor after it reconnects", async () => {
    bashRule("survive a restart", "restart.txt");
    const taskId = await start("survive a restart");
    const request = await waitingRequest(taskId);
    const before = ex.output().split("registered again").length;
    await platform.restart();
    // The hub's SQLite kept the request; answer it before the executor is back.
    const after = await detail(taskId);
    expect(after.pendingInput.map((p) => p.requestId)).toEqual([request.requestId]);
    expect((await answer(taskId, request.requestId, { behavior: "allow" })).status).toBe(200);
    await until(
      () => ex.output().split("registered again").length > before,
      40_000,
      "the executor to register again",
    );
    const done = await settled(taskId);
    expect(done.task.status).toBe("completed");
    expect(readFileSync(join(ex.home, "workspaces", taskId, "restart.txt"), "utf8")).toBe(
      "approved",
    );
  }, 90_000);

  it("AskUserQuestion becomes a question; the reply contains the answer", async () => {
    fake.on("ask me which colour", [
      {
        blocks: [
          toolUse("AskUserQuestion", {
            questions: [
              {
                question: "Which colour should the button be?",
                header: "Colour",
                multiSelect: false,
                options: [
                  { label: "Teal", description: "calm" },
                  { label: "Orange", description: "loud" },
                ],
              },
            ],
          }),
        ],
      },
      { blocks: [text(`Noted: ${TOOL_RESULT}`)] },
    ]);
    const taskId = await start("ask me which colour");
    const request = await waitingRequest(taskId);
    expect(request).toMatchObject({
      kind: "question",
      questions: [expect.objectContaining({ question: "Which colour should the button be?" })],
    });
    const bad = await answer(taskId, request.requestId, { behavior: "allow" });
    expect(bad.status).toBe(400);
    const res = await answer(taskId, request.requestId, {
      answers: { "Which colour should the button be?": "Orange" },
    });
    expect(res.status).toBe(200);
    const done = await settled(taskId);
    expect(done.messages.at(-1)?.content).toContain("Orange");
  });

  it("in bypassPermissions (the default mode) AskUserQuestion still reaches the owner and the answer the agent", async () => {
    fake.on("bypass mode question", [
      {
        blocks: [
          toolUse("AskUserQuestion", {
            questions: [
              {
                question: "Which licence should the project use?",
                header: "Licence",
                multiSelect: false,
                options: [
                  { label: "MIT", description: "short" },
                  { label: "Apache-2.0", description: "patents" },
                ],
              },
            ],
          }),
        ],
      },
      { blocks: [text(`Licence chosen: ${TOOL_RESULT}`)] },
    ]);
    const res = await api<TaskWithMessages>(platform.origin, "POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: "bypass mode question", permissionMode: "bypassPermissions" },
    });
    expect(res.status).toBe(201);
    const taskId = res.body.task.id;
    const request = await waitingRequest(taskId);
    expect(request).toMatchObject({
      kind: "question",
      tool: "AskUserQuestion",
      questions: [expect.objectContaining({ question: "Which licence should the project use?" })],
    });
    const answered = await answer(taskId, request.requestId, {
      answers: { "Which licence should the project use?": "Apache-2.0" },
    });
    expect(answered.status).toBe(200);
    const done = await settled(taskId);
    expect(done.messages.at(-1)).toMatchObject({
      status: "completed",
      permissionMode: "bypassPermissions",
    });
    expect(done.messages.at(-1)?.content).toContain("Apache-2.0");
  });

  it("file writes and edits ask in default mode (with what they change), not in acceptEdits", async () => {
    const editTurns = (file: string) => [
      { blocks: [toolUse("Write", { file_path: file, content: "hello\n" })] },
      {
        blocks: [
          toolUse("Edit", { file_path: file, old_string: "hello", new_string: "hello world" }),
        ],
      },
      { blocks: [text("Edited.")] },
    ];
    const workspaceOf = (taskId: string) => join(ex.home, "workspaces", taskId);
    // default: both ask; the requests carry the file and the change for the card's diff.
    fake.on("edit notes carefully", editTurns("notes.txt"));
    const taskId = await start("edit notes carefully");
    const write = await waitingRequest(taskId);
    expect(write).toMatchObject({ tool: "Write", input: { content: "hello\n" } });
    expect(String((write.input as { file_path: string }).file_path)).toMatch(/notes\.txt$/);
    await answer(taskId, write.requestId, { behavior: "allow" });
    const edit = await until(
      async () => (await detail(taskId)).pendingInput.find((p) => p.tool === "Edit"),
      60_000,
      "the Edit request",
    );
    expect(edit.input).toMatchObject({ old_string: "hello", new_string: "hello world" });
    await answer(taskId, edit.requestId, { behavior: "allow" });
    expect((await settled(taskId)).task.status).toBe("completed");
    expect(readFileSync(join(workspaceOf(taskId), "notes.txt"), "utf8")).toBe("hello world\n");

    // acceptEdits: the same edits go through without asking.
    fake.on("edit notes quickly", editTurns("quick.txt"));
    const res = await api<TaskWithMessages>(platform.origin, "POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: "edit notes quickly", permissionMode: "acceptEdits" },
    });
    const quick = await settled(res.body.task.id);
    expect(quick.task.status).toBe("completed");
    expect(readFileSync(join(workspaceOf(res.body.task.id), "quick.txt"), "utf8")).toBe(
      "hello world\n",
    );
    expect(quick.messages.at(-1)?.blocks.filter((b) => b.type === "tool_use")).toHaveLength(2);
  });

  it("stopping a task that waits for an answer ends its request with it", async () => {
    bashRule("stop while asking", "stopped.txt");
    const live = await openLive(platform.origin, user.cookie);
    const taskId = await start("stop while asking");
    const request = await waitingRequest(taskId);
    await api(platform.origin, "POST", `/api/tasks/${taskId}/cancel`, { cookie: user.cookie });
    const ended = await live.waitFor(
      "input:resolved",
      (f) => f.requestId === request.requestId,
      15_000,
    );
    expect(ended.outcome).toBe("ended");
    const done = await settled(taskId);
    expect(done.task.status).toBe("cancelled");
    expect(done.pendingInput).toEqual([]);
    expect(existsSync(join(ex.home, "workspaces", taskId, "stopped.txt"))).toBe(false);
    expect((await answer(taskId, request.requestId, { behavior: "allow" })).status).toBe(404);
    live.close();
  });

  it("a request left alone expires as a deny that says so", async () => {
    bashRule("nobody answers", "expired.txt");
    const live = await openLive(platform.origin, user.cookie);
    const taskId = await start("nobody answers");
    const request = await waitingRequest(taskId);
    const resolved = await live.waitFor(
      "input:resolved",
      (f) => f.requestId === request.requestId,
      (INPUT_TIMEOUT_SECONDS + 15) * 1000,
    );
    expect(resolved.outcome).toBe("expired");
    const done = await settled(taskId);
    expect(existsSync(join(ex.home, "workspaces", taskId, "expired.txt"))).toBe(false);
    expect(done.messages.at(-1)?.content).toMatch(/expired/);
    expect((await answer(taskId, request.requestId, { behavior: "allow" })).status).toBe(404);
    live.close();
  });
});
