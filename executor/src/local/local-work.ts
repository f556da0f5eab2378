// Local mode in one place: the owner's projects, the task workspaces in them, and the answers
// about Claude Code sessions already on this machine.
import {
  type LocalSession,
  MAX_LISTED_SESSIONS,
  type Project,
  type TranscriptEntry,
} from "@wegent/protocol";
import type { DeviceHandlers } from "../connection/device-rpc";
import type { Logger } from "../log";
import { claudeConfigDir } from "./credentials";
import type { Env } from "./environment";
import { ProjectRegistry, type ProjectSettings } from "./projects";
import { capTranscript, listSessions, readSession } from "./sessions";
import { worktreesRoot } from "../workspace/places";
import { LocalWorkspaces } from "./worktrees";

/** Sessions of the other runtimes (Codex threads): listed beside Claude's, and read. */
export interface OtherSessions {
  list(projects: readonly Project[]): Promise<LocalSession[]>;
  /** One session with all its messages, or null when unknown or not in these projects. */
  read(
    projects: readonly Project[],
    sessionId: string,
  ): Promise<{ session: LocalSession; entries: TranscriptEntry[] } | null>;
  /** The folder the session was made in, or null when unknown. */
  dirOf(sessionId: string): Promise<string | null>;
}

export class LocalWork {
  readonly projects: ProjectRegistry;
  readonly workspaces: LocalWorkspaces;
  /** Claude Code's config folder of the owner (sessions live under its projects/). */
  readonly configDir: string;
  private readonly otherSessions: OtherSessions | undefined;
  private readonly log: Logger | undefined;

  constructor(options: {
    deviceId: string;
    settings: ProjectSettings;
    /** The executor's own folder; task worktrees go to `<home>/worktrees`. */
    homeDir: string;
    /** The user's environment (for Claude Code's config folder). */
    userEnv: Env;
    log?: Logger;
    /** Sessions of other runtimes in these projects (Codex threads), listed beside Claude's. */
    otherSessions?: OtherSessions;
  }) {
    this.otherSessions = options.otherSessions;
    this.log = options.log;
    this.configDir = claudeConfigDir(options.userEnv);
    this.projects = new ProjectRegistry(options.deviceId, options.settings, options.log);
    this.workspaces = new LocalWorkspaces(this.projects, {
      worktreesRoot: worktreesRoot(options),
      claudeConfigDir: this.configDir,
      ...(options.otherSessions ? { codexThreadDir: options.otherSessions.dirOf } : {}),
      log: options.log,
    });
  }

  list(): Project[] {
    return this.projects.list();
  }

  /** Device RPC methods answered in local mode. */
  handlers(): DeviceHandlers {
    return {
      "sessions.list": async ({ projectId }) => {
        const all = this.projects.list();
        const chosen = projectId === null ? all : all.filter((p) => p.id === projectId);
        if (projectId !== null && chosen.length === 0) return null;
        const [claude, other] = await Promise.all([
          listSessions(this.configDir, chosen),
          this.otherSessions?.list(chosen).catch((error: unknown) => {
            // Claude's sessions are still worth showing when Codex does not answer.
            this.log?.warn("could not list Codex threads", { error: String(error) });
            return [];
          }) ?? [],
        ]);
        const sessions = [...claude.sessions, ...other]
          .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))
          .slice(0, MAX_LISTED_SESSIONS);
        return { sessions };
      },
      "sessions.get": async ({ sessionId }) => {
        const projects = this.projects.list();
        const claude = await readSession(this.configDir, projects, sessionId);
        if (claude || !this.otherSessions) return claude;
        const other = await this.otherSessions.read(projects, sessionId).catch((error: unknown) => {
          this.log?.warn("could not read the Codex thread", { error: String(error) });
          return null;
        });
        return other ? { session: other.session, ...capTranscript(other.entries) } : null;
      },
    };
  }
}
