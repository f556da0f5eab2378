import { Hono } from "hono";
import { z } from "zod";
import {
  InputAnswer,
  type InputAnswered,
  TERMINAL_STATUSES,
  type TaskStatus,
} from "@wegent/protocol";
import { type AppEnv, requireUser } from "../auth/identity";
import { ApiError } from "../lib/errors";
import { readBody, readParams, readQuery } from "../lib/validate";
import { deviceHub } from "../../durable-objects/contract";
import { exportJson, exportMarkdown } from "../tasks/export";
import { ownTaskWithMessages, taskRecord } from "./tasks";
import { auditNote, personOnly } from "../auth/person";

// The conversation as a record: answering the agent's requests, and exporting the whole task.

export const taskInputRoutes = new Hono<AppEnv>();
taskInputRoutes.use("*", requireUser());

const InputPath = z.object({
  id: z.string().uuid("task id must be a UUID"),
  requestId: z.string().uuid("request id must be a UUID"),
});

// Answering the agent (Allow, Deny, a question's answers) is a person's act: a script that
// starts a task must not approve its own agent's requests.
taskInputRoutes.post("/:id/input/:requestId", personOnly("input.answer"), async (c) => {
  const { id, requestId } = readParams(c, InputPath);
  const answer = await readBody(c, InputAnswer);
  auditNote(c, id, describeAnswer(requestId, answer));
  const user = c.get("user");
  const { messages } = await ownTaskWithMessages(c.env, user.id, id);
  // The request belongs to a message of this task that is still running on its device.
  for (const m of messages) {
    if (m.role !== "assistant" || TERMINAL_STATUSES.has(m.status as TaskStatus)) continue;
    if (!m.deviceOwnerId || !m.deviceId) continue;
    const result = await deviceHub(c.env, m.deviceOwnerId, m.deviceId).answerInput({
      ownerId: user.id,
      taskId: id,
      messageId: m.id,
      requestId,
      answer,
      answeredBy: user.username,
    });
    if (result.ok) return c.json({ ok: true, outcome: result.outcome } satisfies InputAnswered);
    if (result.code !== "input_not_found") {
      throw new ApiError(result.status, result.code, result.message);
    }
  }
  throw new ApiError(
    404,
    "input_not_found",
    "No such request is waiting in this task: it may have ended with its message.",
  );
});

/** The kind of answer, never its text (an answer may quote anything). */
function describeAnswer(requestId: string, answer: InputAnswer): string {
  if ("behavior" in answer) {
    const remember = answer.remember ? `, remember for the ${answer.remember}` : "";
    return `request ${requestId}: ${answer.behavior}${remember}`;
  }
  return `request ${requestId}: answered ${Object.keys(answer.answers).length} questions`;
}

const ExportQuery = z.object({ format: z.enum(["md", "json"]).default("md") });

taskInputRoutes.get("/:id/export", async (c) => {
  const { id } = readParams(c, z.object({ id: z.string().uuid("task id must be a UUID") }));
  const { format } = readQuery(c, ExportQuery);
  const record = await taskRecord(c.env, c.get("user").id, id);
  const base = `task-${record.task.id.slice(0, 8)}`;
  if (format === "json") {
    return c.body(exportJson(record), 200, {
      "Content-Type": "application/json; charset=utf-8",
      "Content-Disposition": `attachment; filename="${base}.json"`,
    });
  }
  return c.body(exportMarkdown(record), 200, {
    "Content-Type": "text/markdown; charset=utf-8",
    "Content-Disposition": `attachment; filename="${base}.md"`,
  });
});
