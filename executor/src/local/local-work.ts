// Local mode in one place: the owner's projects, the task workspaces in them, and the answers
// about Claude Code sessions already on this machine.
import type { Project } from "@wegent/protocol";
import type { DeviceHandlers } from "../connection/device-rpc";
import type { Logger } from "../log";
import { claudeConfigDir } from "./credentials";
import type { Env } from "./environment";
import { ProjectRegistry, type ProjectSettings } from "./projects";
import { listSessions, readSession } from "./sessions";
import { worktreesRoot } from "../workspace/places";
import { LocalWorkspaces } from "./worktrees";

export class LocalWork {
  readonly projects: ProjectRegistry;
  readonly workspaces: LocalWorkspaces;
  /** Claude Code's config folder of the owner (sessions live under its projects/). */
  readonly configDir: string;

  constructor(options: {
    deviceId: string;
    settings: ProjectSettings;
    /** The executor's own folder; task worktrees go to `<home>/worktrees`. */
    homeDir: string;
    /** The user's environment (for Claude Code's config folder). */
    userEnv: Env;
    log?: Logger;
  }) {
    this.configDir = claudeConfigDir(options.userEnv);
    this.projects = new ProjectRegistry(options.deviceId, options.settings, options.log);
    this.workspaces = new LocalWorkspaces(this.projects, {
      worktreesRoot: worktreesRoot(options),
      claudeConfigDir: this.configDir,
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
        return listSessions(this.configDir, chosen);
      },
      "sessions.get": ({ sessionId }) =>
        readSession(this.configDir, this.projects.list(), sessionId),
    };
  }
}
