import { z } from "zod";
import { Id } from "./common";

// Command RPC: the platform asks an online device to run one named command and waits for the
// result. The keys built into the executor and the schema of their arguments live here, so the
// Worker (400 on bad args) and the executor (refuses anything else) check the same thing.

/** `workspace.diff`, `runtime.info`, or an owner key from device-config.json. */
export const CommandKey = z
  .string()
  .min(1)
  .max(64)
  .regex(
    /^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/,
    "a command key is letters, digits, '-', '_' separated by '.'",
  );
export type CommandKey = z.infer<typeof CommandKey>;

/**
 * A path inside a task's workspace, relative to it: no absolute paths, no `..` segments, no
 * control characters. The executor still resolves it (symlinks included) and refuses anything
 * that lands outside the workspace.
 */
export const WorkspacePath = z
  .string()
  .min(1)
  .max(1024)
  .regex(/^[^\p{Cc}]*$/u, "must not contain control characters")
  .refine((p) => !p.startsWith("/") && !/^[A-Za-z]:/.test(p), "must be relative to the workspace")
  .refine((p) => !p.split(/[\\/]/).includes(".."), "must not contain '..'");

/** A skill folder's name: one path segment. */
export const SkillName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "a skill name is letters, digits, '.', '-' and '_'");

/** Process limits: defaults and the most a command may ask for. */
export const COMMAND_TIMEOUT_DEFAULT_SEC = 60;
export const COMMAND_TIMEOUT_MAX_SEC = 600;
export const COMMAND_OUTPUT_DEFAULT_BYTES = 1024 * 1024;
export const COMMAND_OUTPUT_MAX_BYTES = 5 * 1024 * 1024;
/** Commands one device runs at once; the platform answers 429 beyond. */
export const MAX_CONCURRENT_COMMANDS = 4;
/** How long the platform waits for the executor's answer after sending (504 after). */
export const COMMAND_ANSWER_TIMEOUT_MS = 10_000;
/** Largest single file `workspace.file` returns. */
export const WORKSPACE_FILE_MAX_BYTES = 512 * 1024;

const NoArgs = z.object({}).strict();

/** Text passed to git or gh as one argument: bounded in UTF-8 bytes, no NUL. */
const ArgText = (max: number) =>
  z
    .string()
    .regex(/^[^\0]*$/, "must not contain NUL")
    .refine((s) => new TextEncoder().encode(s).length <= max, {
      message: `at most ${max} bytes (UTF-8)`,
    });
/** A commit message or pull request title: something to say. */
const LandText = (max: number) => ArgText(max).pipe(z.string().trim().min(1, "must not be empty"));

/** Arguments of each built-in key. `needsTask`: the command runs in a task's workspace. */
export const BUILTIN_COMMANDS = {
  "workspace.status": { needsTask: true, args: NoArgs },
  "workspace.diff": {
    needsTask: true,
    args: z.object({ path: WorkspacePath.optional() }).strict(),
  },
  "workspace.file": {
    needsTask: true,
    args: z
      .object({
        path: WorkspacePath,
        /** Read the base version instead of the current one. */
        base: z.boolean().optional(),
      })
      .strict(),
  },
  "workspace.revert": { needsTask: true, args: z.object({ path: WorkspacePath }).strict() },
  "runtime.info": { needsTask: false, args: NoArgs },
  "skills.list": { needsTask: false, args: NoArgs },
  "skills.link": { needsTask: false, args: z.object({ name: SkillName }).strict() },
  // Landing a task's work (its worktree's branch `wegent/<id>`); see docs/commands.md.
  "git.status": { needsTask: true, args: NoArgs, timeoutSec: 15 },
  "git.commit": { needsTask: true, args: z.object({ message: LandText(10_000) }).strict() },
  "git.merge": { needsTask: true, args: NoArgs },
  "git.push": { needsTask: true, args: NoArgs, timeoutSec: 60 },
  "git.pr": {
    needsTask: true,
    args: z.object({ title: LandText(500), body: ArgText(20_000).optional() }).strict(),
    timeoutSec: 90,
  },
} as const;

/** Extra seconds the platform waits for a built-in that talks to the network (push, PR). */
export function builtinTimeoutSec(key: BuiltinCommandKey): number {
  const entry = BUILTIN_COMMANDS[key];
  return "timeoutSec" in entry ? entry.timeoutSec : 0;
}
export type BuiltinCommandKey = keyof typeof BUILTIN_COMMANDS;
export const BUILTIN_COMMAND_KEYS = Object.keys(BUILTIN_COMMANDS) as BuiltinCommandKey[];

export function isBuiltinCommand(key: string): key is BuiltinCommandKey {
  return Object.hasOwn(BUILTIN_COMMANDS, key);
}

/**
 * Arguments of an owner key: extra argv entries appended, each passed as one literal argument
 * (never through a shell).
 */
export const OwnerCommandArgs = z
  .object({
    argv: z
      .array(
        z
          .string()
          .max(4096)
          .regex(/^[^\0]*$/, "must not contain NUL"),
      )
      .max(50),
  })
  .partial()
  .strict();

/** What an owner key looks like to the platform (listed in the UI). */
export const OwnerCommandInfo = z.object({
  key: CommandKey,
  argv: z.array(z.string().max(4096)).min(1).max(50),
  timeoutSec: z.number().int().min(1).max(COMMAND_TIMEOUT_MAX_SEC),
});
export type OwnerCommandInfo = z.infer<typeof OwnerCommandInfo>;
export const OwnerCommands = z.array(OwnerCommandInfo).max(100);

/** Validates `args` for `key`; owner keys must be among `ownerKeys`. */
export function checkCommandArgs(
  key: string,
  args: unknown,
  ownerKeys: readonly string[],
):
  | { ok: true; args: Record<string, unknown> }
  | { ok: false; code: "command_unknown" | "invalid_args"; error: z.ZodError | null } {
  const schema = isBuiltinCommand(key)
    ? BUILTIN_COMMANDS[key].args
    : ownerKeys.includes(key)
      ? OwnerCommandArgs
      : null;
  if (!schema) return { ok: false, code: "command_unknown", error: null };
  const parsed = (schema as z.ZodType<Record<string, unknown>>).safeParse(args ?? {});
  if (!parsed.success) return { ok: false, code: "invalid_args", error: parsed.error };
  return { ok: true, args: parsed.data };
}

/** `POST /api/devices/:id/commands` body. */
export const RunCommand = z.object({
  key: CommandKey,
  args: z.record(z.string(), z.unknown()).optional(),
  taskId: Id.optional(),
});
export type RunCommand = z.infer<typeof RunCommand>;

/** Device RPC params (hub → executor): the task's workspace is resolved by the executor. */
export const CommandRequest = z.object({
  key: CommandKey,
  args: z.record(z.string(), z.unknown()),
  taskId: Id.nullable(),
});
export type CommandRequest = z.infer<typeof CommandRequest>;

/** The answer, both over the device socket and from the API. */
export const CommandResult = z.object({
  /** null when the process was killed by a signal or never started. */
  exitCode: z.number().int().nullable(),
  stdout: z.string(),
  stderr: z.string(),
  timedOut: z.boolean(),
  truncated: z.boolean(),
  durationMs: z.number().int().nonnegative(),
});
export type CommandResult = z.infer<typeof CommandResult>;

/** Why the executor refused a command (it never ran). */
export const CommandRefusalCode = z.enum([
  "command_unknown",
  "invalid_args",
  "task_not_found",
  "path_outside",
  "busy",
]);
export type CommandRefusalCode = z.infer<typeof CommandRefusalCode>;

/** The executor's answer to `command.run`: the result, or why it refused. */
export const CommandRunAnswer = z.discriminatedUnion("ok", [
  z.object({ ok: z.literal(true), result: CommandResult }),
  z.object({ ok: z.literal(false), code: CommandRefusalCode, message: z.string().max(2000) }),
]);
export type CommandRunAnswer = z.infer<typeof CommandRunAnswer>;

// ---------------------------------------------------------------------------------------------
// Built-in outputs: built-in keys print one JSON document on stdout with these shapes.
// ---------------------------------------------------------------------------------------------

export const ChangedFile = z.object({
  path: z.string(),
  /** added, modified, deleted, renamed (from oldPath), or type-changed. */
  status: z.enum(["added", "modified", "deleted", "renamed", "typechange"]),
  oldPath: z.string().nullable(),
  /** Lines added / removed; null for binary files. */
  added: z.number().int().nonnegative().nullable(),
  removed: z.number().int().nonnegative().nullable(),
  /** The file is over the size limit of status/diff: not read, so no counts and no diff. */
  tooLarge: z.boolean().optional(),
  /** Its size in bytes (with `tooLarge`). */
  size: z.number().int().nonnegative().optional(),
});
export type ChangedFile = z.infer<typeof ChangedFile>;

export const WorkspaceStatus = z.object({
  /** Whether the workspace is a git checkout of a project (else a scratch folder). */
  git: z.boolean(),
  base: z.string(),
  files: z.array(ChangedFile),
});
export type WorkspaceStatus = z.infer<typeof WorkspaceStatus>;

export const WorkspaceDiff = WorkspaceStatus.extend({
  /** Unified diff of every file (or of `path`); cut when over the output cap. */
  diff: z.string(),
});
export type WorkspaceDiff = z.infer<typeof WorkspaceDiff>;

export const WorkspaceFile = z.object({
  path: z.string(),
  /** null: the file does not exist (in the base, or any more). */
  content: z.string().nullable(),
  binary: z.boolean(),
  size: z.number().int().nonnegative(),
  truncated: z.boolean(),
});
export type WorkspaceFile = z.infer<typeof WorkspaceFile>;

export const WorkspaceRevert = z.object({
  path: z.string(),
  /** restored: back to its base content; removed: it was new, so it is gone. */
  action: z.enum(["restored", "removed", "unchanged"]),
});

/** Why landing a task's work was refused (nothing was changed). */
export const GitLandRefusal = z.enum([
  /** Not a task in its own worktree of a git project (scratch, cloud, in place). */
  "not_a_worktree",
  /** The worktree is on another branch than the task's. */
  "wrong_branch",
  "nothing_to_commit",
  /** Merge, push or PR with changes not committed yet. */
  "uncommitted_changes",
  /** The base branch already has every commit of the task. */
  "already_merged",
  "base_unknown",
  /** The base moved since the task started and changes the same lines. */
  "conflict",
  /** The base is checked out with uncommitted changes (or somewhere else than the project). */
  "base_busy",
  "no_remote",
  "gh_missing",
  "failed",
]);
export type GitLandRefusal = z.infer<typeof GitLandRefusal>;

/** `git.status`: what can be done with the task's branch. */
export const GitLandStatus = z.object({
  /** null when the task cannot be landed from here (then `refusal` says why). */
  refusal: GitLandRefusal.nullable(),
  message: z.string(),
  branch: z.string().nullable(),
  base: z.string().nullable(),
  /** Files changed and not committed yet in the worktree. */
  uncommitted: z.number().int().nonnegative(),
  /** Commits on the branch that the base lacks, and the other way round. */
  ahead: z.number().int().nonnegative(),
  behind: z.number().int().nonnegative(),
  /** The remote a push goes to, when the project has one. */
  remote: z.string().nullable(),
  /** `gh` is installed and signed in. */
  gh: z.boolean(),
  worktree: z.string().nullable(),
  project: z.string().nullable(),
});
export type GitLandStatus = z.infer<typeof GitLandStatus>;

/** `git.commit`, `git.merge`, `git.push`, `git.pr`: done (exit 0), or refused with the reason (exit 1). */
export const GitLandResult = z.object({
  ok: z.boolean(),
  refusal: GitLandRefusal.nullable(),
  message: z.string(),
  /** The commit made or landed (commit, merge). */
  commit: z.string().nullable(),
  /** merge: fast-forward or a merge commit. */
  how: z.enum(["fast-forward", "merge-commit"]).nullable(),
  /** The pull request's address. */
  url: z.string().nullable(),
  /** Files in conflict, for a refused merge. */
  conflicts: z.array(z.string()),
});
export type GitLandResult = z.infer<typeof GitLandResult>;

export const RuntimeInfo = z.object({
  executor: z.string(),
  node: z.string(),
  git: z.string().nullable(),
  claudeCode: z.string().nullable(),
  platform: z.string(),
  /** Free bytes on the workspace's disk. */
  freeDiskBytes: z.number().nonnegative().nullable(),
});
export type RuntimeInfo = z.infer<typeof RuntimeInfo>;

/** The folders a shared skill may live in, by their label. */
export const SKILL_FOLDERS = ["~/.agents/skills", "~/.claude/skills", "~/.codex/skills"] as const;
export const SkillFolder = z.enum(SKILL_FOLDERS);

export const SkillEntry = z.object({
  name: z.string(),
  description: z.string().nullable(),
  /** Folders where the skill exists, and whether there it is a link into ~/.agents/skills. */
  locations: z.array(
    z.object({
      folder: SkillFolder,
      link: z.boolean(),
    }),
  ),
  /** Every folder has it, each non-canonical one as a link to ~/.agents/skills/<name>. */
  unified: z.boolean(),
});
export type SkillEntry = z.infer<typeof SkillEntry>;
export const SkillsList = z.object({ skills: z.array(SkillEntry) });
export type SkillsList = z.infer<typeof SkillsList>;

export const SkillsLink = z.object({
  name: z.string(),
  /** What was done in each folder. */
  actions: z.array(
    z.object({
      folder: SkillFolder,
      action: z.enum(["moved", "linked", "kept", "conflict"]),
      detail: z.string().optional(),
    }),
  ),
});
export type SkillsLink = z.infer<typeof SkillsLink>;

// ---------------------------------------------------------------------------------------------
// Audit
// ---------------------------------------------------------------------------------------------

export const CommandAuditEntry = z.object({
  id: z.number().int(),
  at: z.string(),
  userId: z.string(),
  username: z.string().nullable(),
  deviceId: z.string(),
  key: z.string(),
  taskId: z.string().nullable(),
  /** SHA-256 (hex) of the canonical JSON of the args; the args themselves are not kept. */
  argsDigest: z.string(),
  /** ok, or why the platform got no result (offline, timeout, refused...). */
  outcome: z.string(),
  exitCode: z.number().int().nullable(),
  durationMs: z.number().int().nullable(),
  /** stdout + stderr bytes returned. */
  bytes: z.number().int().nullable(),
});
export type CommandAuditEntry = z.infer<typeof CommandAuditEntry>;
export const CommandAuditPage = z.object({
  entries: z.array(CommandAuditEntry),
  nextCursor: z.string().nullable(),
});
export type CommandAuditPage = z.infer<typeof CommandAuditPage>;
