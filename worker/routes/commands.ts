import { Hono } from "hono";
import { and, eq, sql } from "drizzle-orm";
import { z } from "zod";
import {
  availabilityText,
  BUILTIN_COMMANDS,
  builtinTimeoutSec,
  COMMAND_ANSWER_TIMEOUT_MS,
  type CommandAuditPage,
  type CommandResult,
  DeviceId,
  OwnerCommands,
  RunCommand,
  checkCommandArgs,
  isBuiltinCommand,
} from "@wegent/protocol";
import { database, schema } from "../../edge/db";
import { type AppEnv, requireUser } from "../auth/identity";
import { ApiError, notFound } from "../lib/errors";
import { ownRow } from "../lib/own-row";
import { readBody, readParams, readQuery } from "../lib/validate";
import { argsDigest, finishCommand, listAudit, startCommand } from "../devices/command-audit";
import { sendCommand } from "../devices/command-transport";

// The command RPC: `POST /api/devices/:id/commands` runs one named command on an online device
// and answers with its result; `GET /api/devices/:id/audit` pages through what was run.

export const commandRoutes = new Hono<AppEnv>();
// Only these paths: mounted next to deviceRoutes, a "*" here would also guard /connect.
commandRoutes.use("/:id/commands", requireUser());
commandRoutes.use("/:id/audit", requireUser());

const DevicePath = z.object({ id: DeviceId });

const ownDevice = (env: AppEnv["Bindings"], ownerId: string, deviceId: string) =>
  ownRow(env.DB, "device", schema.devices, {
    key: schema.devices.deviceId,
    id: deviceId,
    owner: schema.devices.ownerId,
    ownerId,
  });

/** The owner's keys the device advertised when it registered. */
function ownerCommands(row: { commands: string | null }) {
  if (!row.commands) return [];
  const parsed = OwnerCommands.safeParse(JSON.parse(row.commands));
  return parsed.success ? parsed.data : [];
}

commandRoutes.post("/:id/commands", async (c) => {
  const { id } = readParams(c, DevicePath);
  const body = await readBody(c, RunCommand);
  const user = c.get("user");
  const device = await ownDevice(c.env, user.id, id);
  const owned = ownerCommands(device);
  const checked = checkCommandArgs(
    body.key,
    body.args ?? {},
    owned.map((o) => o.key),
  );
  if (!checked.ok) {
    if (checked.code === "command_unknown") {
      throw new ApiError(400, "command_unknown", `This device has no command ${body.key}.`);
    }
    throw new ApiError(
      400,
      "invalid_args",
      checked.error ? describeArgs(checked.error) : "invalid args",
    );
  }
  const needsTask = isBuiltinCommand(body.key) && BUILTIN_COMMANDS[body.key].needsTask;
  if (needsTask && !body.taskId) {
    throw new ApiError(400, "invalid_args", `invalid args: taskId: ${body.key} needs a task`);
  }
  if (body.taskId) {
    const t = schema.tasks;
    const task = await database(c.env.DB)
      .select({ found: sql<number>`1` })
      .from(t)
      .where(
        and(
          eq(t.id, body.taskId),
          eq(t.ownerId, user.id),
          eq(t.deviceId, id),
          eq(t.deviceOwnerId, user.id),
        ),
      )
      .get();
    if (!task) throw notFound("task");
  }
  const label = device.customName ?? device.name;
  if (device.status === "offline" || device.status === "reconnecting") {
    throw new ApiError(409, "device_offline", `Device ${availabilityText(label, device.status)}`);
  }
  const timeoutSec = isBuiltinCommand(body.key)
    ? builtinTimeoutSec(body.key)
    : (owned.find((o) => o.key === body.key)?.timeoutSec ?? 0);
  const waitMs = COMMAND_ANSWER_TIMEOUT_MS + timeoutSec * 1000;
  const auditId = await startCommand(c.env.DB, {
    ownerId: user.id,
    deviceId: id,
    userId: user.id,
    key: body.key,
    taskId: body.taskId ?? null,
    digest: await argsDigest(checked.args),
    waitMs,
  });
  if (auditId === null) {
    throw new ApiError(
      429,
      "too_many_commands",
      `Device ${label} is already running 4 commands; try again when one has finished.`,
      { "Retry-After": "2" },
    );
  }
  const started = Date.now();
  const answer = await sendCommand(c.env, user.id, id, {
    request: { key: body.key, args: checked.args, taskId: body.taskId ?? null },
    waitMs,
  }).catch((error: unknown) => ({ kind: "error" as const, message: String(error) }));
  const elapsed = Date.now() - started;
  const result: CommandResult | null = answer.kind === "result" ? answer.result : null;
  const outcome =
    answer.kind === "result"
      ? "ok"
      : answer.kind === "refused"
        ? "refused"
        : answer.kind === "offline"
          ? "offline"
          : answer.kind === "timeout"
            ? "timeout"
            : "error";
  await finishCommand(c.env.DB, auditId, outcome, result, elapsed);
  switch (answer.kind) {
    case "result":
      return c.json(answer.result satisfies CommandResult);
    case "refused":
      throw refusal(answer.code, answer.message);
    case "offline":
      throw new ApiError(409, "device_offline", `Device ${availabilityText(label, "offline")}`);
    case "timeout":
      throw new ApiError(
        504,
        "device_timeout",
        `Device ${label} did not answer within ${Math.round(waitMs / 1000)} s.`,
      );
    default:
      throw new ApiError(502, "device_error", `Device ${label} could not run the command.`);
  }
});

/** "invalid args: args.path: must not contain '..'" — names the field. */
function describeArgs(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "invalid args";
  return `invalid args: ${["args", ...issue.path.map(String)].join(".")}: ${issue.message}`;
}

/** The executor refused: the same codes as the platform's own checks. */
function refusal(code: string, message: string): ApiError {
  switch (code) {
    case "command_unknown":
      return new ApiError(400, "command_unknown", message);
    case "invalid_args":
      return new ApiError(400, "invalid_args", message);
    case "path_outside":
      return new ApiError(400, "path_outside", message);
    case "task_not_found":
      return new ApiError(404, "task_not_found", message);
    case "busy":
      return new ApiError(429, "too_many_commands", message, { "Retry-After": "2" });
    default:
      return new ApiError(502, "device_error", message);
  }
}

const AuditQuery = z.object({
  cursor: z
    .string()
    .regex(/^\d{1,15}$/, "cursor is an entry id")
    .optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

commandRoutes.get("/:id/audit", async (c) => {
  const { id } = readParams(c, DevicePath);
  const { cursor, limit } = readQuery(c, AuditQuery);
  const user = c.get("user");
  await ownDevice(c.env, user.id, id);
  const page = await listAudit(c.env.DB, user.id, id, cursor ? Number(cursor) : null, limit);
  return c.json(page satisfies CommandAuditPage);
});
