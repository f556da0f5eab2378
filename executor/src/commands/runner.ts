// The command runner: checks a command request from the hub (the key must be built in or the
// owner's, the args must match its schema, the working directory must be inside a project or a
// task workspace) and runs it. Refuses anything else, whatever the platform sent.
import { realpath } from "node:fs/promises";
import { sep } from "node:path";
import {
  BUILTIN_COMMANDS,
  type BuiltinCommandKey,
  type CommandResult,
  CommandRequest,
  MAX_CONCURRENT_COMMANDS,
  MAX_FRAME_BYTES,
  type OwnerCommandInfo,
  checkCommandArgs,
  isBuiltinCommand,
} from "@wegent/protocol";
import { CREDENTIAL_VARIABLES } from "../runtime/agent-env";
import { CommandError } from "../system/git";
import { land, type LandContext, landStatus } from "./land";
import type { OwnerCommand } from "./owner-commands";
import { runtimeInfo } from "./runtime-info";
import { linkSkill, listSkills } from "./skills";
import { runArgv } from "../system/spawn";
import { commandStateDir, scratchDir, worktreesRoot } from "../workspace/places";
import {
  type TaskWorkspace,
  workspaceDiff,
  workspaceFile,
  workspaceRevert,
  workspaceStatus,
} from "../workspace/changes";

export type RefusalCode =
  "command_unknown" | "invalid_args" | "task_not_found" | "path_outside" | "busy";

export type RunnerOutcome =
  { ok: true; result: CommandResult } | { ok: false; code: RefusalCode; message: string };

export interface RunnerOptions {
  ownerCommands: OwnerCommand[];
  version: string;
  /** Root of the scratch task workspaces. */
  workspaceRoot: string;
  /** The executor's home: per-task state (baselines) goes under tasks/<id>/. */
  homeDir: string;
  /** The user's home, where the skill folders are. */
  userHome: string;
  /** Folders of the projects the owner offers (owner commands may run there). */
  projectDirs?: () => readonly string[];
  /** Where a task works (a project's worktree); default <workspaceRoot>/<taskId>. */
  resolveTask?: (taskId: string) => Promise<{ dir: string; base?: string } | null>;
  /** The branch a task's worktree was made from (where `git.merge` lands it). */
  baseBranch?: (taskId: string) => Promise<string | null>;
  claudeExecutable?: string;
  /** The environment owner commands start from (local mode: the user's login shell's). */
  baseEnv?: Readonly<Record<string, string | undefined>>;
  /**
   * Agents run sandboxed as someone else (cloud mode): the workspace commands never use a git
   * repo in a task's folder, only the executor's own baseline git dir (TaskWorkspace.sandboxed).
   */
  agentsSandboxed?: boolean;
}

/** The answer must fit one frame on the device socket, with room for the envelope. */
const RESULT_BUDGET_BYTES = MAX_FRAME_BYTES - 16 * 1024;

export class CommandRunner {
  private running = 0;

  constructor(private readonly options: RunnerOptions) {}

  /** What the platform may list and call besides the built-ins. */
  ownerKeys(): OwnerCommandInfo[] {
    return this.options.ownerCommands.map((c) => ({
      key: c.key,
      argv: c.argv,
      timeoutSec: c.timeoutSec,
    }));
  }

  async run(raw: unknown): Promise<RunnerOutcome> {
    const request = CommandRequest.safeParse(raw);
    if (!request.success) {
      return { ok: false, code: "invalid_args", message: request.error.issues[0]?.message ?? "" };
    }
    const { key, taskId } = request.data;
    const checked = checkCommandArgs(
      key,
      request.data.args,
      this.options.ownerCommands.map((c) => c.key),
    );
    if (!checked.ok) {
      if (checked.code === "command_unknown") {
        return { ok: false, code: "command_unknown", message: `no command ${key} on this device` };
      }
      const issue = checked.error?.issues[0];
      const field = ["args", ...(issue?.path ?? [])].join(".");
      return { ok: false, code: "invalid_args", message: `${field}: ${issue?.message ?? ""}` };
    }
    if (this.running >= MAX_CONCURRENT_COMMANDS) {
      return { ok: false, code: "busy", message: "this device is already running 4 commands" };
    }
    this.running++;
    try {
      const result = isBuiltinCommand(key)
        ? await this.builtin(key, checked.args, taskId)
        : await this.owner(key, checked.args, taskId);
      return { ok: true, result: fitToFrame(result) };
    } catch (error) {
      if (error instanceof CommandError && error.code !== "failed") {
        return { ok: false, code: error.code, message: error.message };
      }
      const message = error instanceof Error ? error.message : String(error);
      return {
        ok: true,
        result: {
          exitCode: 1,
          stdout: "",
          stderr: message,
          timedOut: false,
          truncated: false,
          durationMs: 0,
        },
      };
    } finally {
      this.running--;
    }
  }

  private async task(taskId: string | null): Promise<TaskWorkspace> {
    if (taskId === null)
      throw new CommandError("invalid_args", "taskId: this command needs a task");
    const stateDir = commandStateDir(this.options.homeDir, taskId);
    const found = this.options.resolveTask
      ? await this.options.resolveTask(taskId)
      : { dir: scratchDir(this.options, taskId) };
    if (!found)
      throw new CommandError("task_not_found", "that task has no workspace on this device");
    await this.assertAllowedCwd(found.dir);
    return { ...found, stateDir, sandboxed: this.options.agentsSandboxed === true };
  }

  /** A task's worktree for the git.* keys: never in cloud mode (an agent's repo runs nothing). */
  private async landContext(taskId: string | null): Promise<LandContext> {
    if (this.options.agentsSandboxed) {
      throw new CommandError(
        "invalid_args",
        "git commands are for tasks in a project's worktree on your own device",
      );
    }
    const workspace = await this.task(taskId);
    const id = taskId ?? "";
    return {
      taskId: id,
      dir: workspace.dir,
      worktreesRoot: worktreesRoot(this.options),
      baseBranch: (await this.options.baseBranch?.(id)) ?? null,
      assertAllowed: (dir) => this.assertAllowedCwd(dir),
      env: commandEnv(this.options.baseEnv ?? process.env),
    };
  }

  private async builtin(
    key: BuiltinCommandKey,
    args: Record<string, unknown>,
    taskId: string | null,
  ): Promise<CommandResult> {
    const started = performance.now();
    if (BUILTIN_COMMANDS[key].needsTask && taskId === null) {
      throw new CommandError("invalid_args", "taskId: this command needs a task");
    }
    let output: unknown;
    let truncated = false;
    const path = typeof args.path === "string" ? args.path : undefined;
    switch (key) {
      case "workspace.status":
        output = await workspaceStatus(await this.task(taskId));
        break;
      case "workspace.diff": {
        const { truncated: cut, ...diff } = await workspaceDiff(await this.task(taskId), path);
        const fitted = fitText(diff, "diff");
        output = fitted.value;
        truncated = cut || fitted.cut;
        break;
      }
      case "workspace.file": {
        const file = await workspaceFile(await this.task(taskId), path ?? "", args.base === true);
        const fitted = fitText(file, "content");
        output = fitted.cut ? { ...fitted.value, truncated: true } : fitted.value;
        truncated = file.truncated || fitted.cut;
        break;
      }
      case "workspace.revert":
        output = await workspaceRevert(await this.task(taskId), path ?? "");
        break;
      case "runtime.info":
        output = await runtimeInfo(this.options);
        break;
      case "skills.list":
        output = await listSkills(this.options.userHome);
        break;
      case "skills.link":
        output = await linkSkill(this.options.userHome, String(args.name));
        break;
      case "git.status":
        output = await landStatus(await this.landContext(taskId));
        break;
      case "git.commit":
      case "git.merge":
      case "git.push":
      case "git.pr": {
        const action = key.slice("git.".length) as "commit" | "merge" | "push" | "pr";
        const landed = await land(action, args, await this.landContext(taskId));
        return {
          exitCode: landed.ok ? 0 : 1,
          stdout: JSON.stringify(landed),
          stderr: landed.ok ? "" : landed.message,
          timedOut: false,
          truncated: false,
          durationMs: Math.round(performance.now() - started),
        };
      }
    }
    return {
      exitCode: 0,
      stdout: JSON.stringify(output),
      stderr: "",
      timedOut: false,
      truncated,
      durationMs: Math.round(performance.now() - started),
    };
  }

  private async owner(
    key: string,
    args: Record<string, unknown>,
    taskId: string | null,
  ): Promise<CommandResult> {
    const command = this.options.ownerCommands.find((c) => c.key === key);
    if (!command) throw new CommandError("invalid_args", `no command ${key}`);
    const cwd = command.cwd ?? (await this.task(taskId)).dir;
    await this.assertAllowedCwd(cwd);
    const extra = Array.isArray(args.argv) ? (args.argv as string[]) : [];
    return runArgv({
      argv: [...command.argv, ...extra],
      cwd,
      env: commandEnv(this.options.baseEnv ?? process.env),
      timeoutMs: command.timeoutSec * 1000,
      maxOutputBytes: command.maxOutputBytes,
    });
  }

  /** A command's working directory must be inside a project or the task workspaces. */
  private async assertAllowedCwd(cwd: string): Promise<void> {
    const real = await realpath(cwd).catch(() => {
      throw new CommandError("path_outside", `working directory ${cwd} does not exist`);
    });
    // Inside (not at) the roots that hold task workspaces; in or at a project folder.
    const containers = [this.options.workspaceRoot, worktreesRoot(this.options)];
    const projects = this.options.projectDirs?.() ?? [];
    for (const [root, mayBeRoot] of [
      ...containers.map((r) => [r, false] as const),
      ...projects.map((r) => [r, true] as const),
    ]) {
      const top = await realpath(root).catch(() => null);
      if (top && (real.startsWith(top + sep) || (mayBeRoot && real === top))) return;
    }
    throw new CommandError(
      "path_outside",
      `working directory ${cwd} is not inside a project or a task workspace`,
    );
  }
}

/** The environment without the executor's own token and the model credentials. */
function commandEnv(base: Readonly<Record<string, string | undefined>>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(base)) {
    if (name.startsWith("WEGENT_") || (CREDENTIAL_VARIABLES as readonly string[]).includes(name)) {
      continue;
    }
    env[name] = value;
  }
  return env;
}

/** Shortens one text field of a built-in's output until its JSON fits one answer. */
function fitText<T extends object>(value: T, field: keyof T): { value: T; cut: boolean } {
  let fitted = value;
  let cut = false;
  // stdout is JSON inside the JSON answer: measure it escaped twice.
  while (Buffer.byteLength(JSON.stringify(JSON.stringify(fitted))) > RESULT_BUDGET_BYTES - 4096) {
    const text = fitted[field];
    if (typeof text !== "string" || text.length === 0) break;
    fitted = { ...fitted, [field]: text.slice(0, Math.floor(text.length * 0.75)) };
    cut = true;
  }
  return { value: fitted, cut };
}

/** Cuts stdout / stderr until the whole answer fits one frame; marks it truncated. */
export function fitToFrame(result: CommandResult): CommandResult {
  let fitted = result;
  while (Buffer.byteLength(JSON.stringify(fitted)) > RESULT_BUDGET_BYTES) {
    const cutOut = fitted.stdout.length >= fitted.stderr.length;
    const text = cutOut ? fitted.stdout : fitted.stderr;
    const shorter = text.slice(0, Math.floor(text.length * 0.75));
    fitted = { ...fitted, truncated: true, [cutOut ? "stdout" : "stderr"]: shorter };
  }
  return fitted;
}
