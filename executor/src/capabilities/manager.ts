// Managed capabilities: the skills, MCP servers and runtime settings the user manages in the
// platform's Settings. They live in a folder of the executor's own (<home>/capabilities), never
// in ~/.claude: the user's hand-made skills and MCP servers are not touched. Skills form a
// Claude Code plugin passed to each run; MCP servers and settings go in the SDK's options.
import { cp, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { z } from "zod";
import {
  type AppliedCapabilities,
  type DeviceCapabilitiesFrame,
  DeviceCapabilitiesFrame as FrameSchema,
  DEFAULT_RUNTIME_SETTINGS,
} from "@wegent/protocol";
import type { Logger } from "../log";
import { writeSkill } from "./skill-files";
import { applyMcpPolicy, type McpPolicy, policyReport } from "./mcp-policy";

/** The plugin's name: Claude Code shows its skills as `wegent:<skill>`. */
export const PLUGIN_NAME = "wegent";
const DOWNLOAD_TIMEOUT_MS = 30_000;
const MAX_DOWNLOAD_BYTES = 8 * 1024 * 1024;

const State = z.object({
  digest: z.string().nullable(),
  error: z.string().nullable(),
  skills: FrameSchema.shape.skills,
  mcpServers: FrameSchema.shape.mcpServers,
  runtime: FrameSchema.shape.runtime,
});
type State = z.infer<typeof State>;

/** What a run uses: the plugin folder (or null when no skill is managed) and the rest. */
export interface RunCapabilities {
  pluginDir: string | null;
  mcpServers: DeviceCapabilitiesFrame["mcpServers"];
  runtime: DeviceCapabilitiesFrame["runtime"];
}

export interface CapabilityManagerOptions {
  homeDir: string;
  backendUrl: string;
  log: Logger;
  /**
   * What device-config.json lets managed MCP servers do here (default: stdio servers start,
   * as on a bypassPermissions device; no environment variable is read).
   */
  mcpPolicy?: McpPolicy;
  /** Told after every apply (the executor sends a heartbeat with it at once). */
  onApplied?: (applied: AppliedCapabilities) => void;
  fetch?: typeof fetch;
}

const EMPTY: State = {
  digest: null,
  error: null,
  skills: [],
  mcpServers: [],
  runtime: DEFAULT_RUNTIME_SETTINGS,
};

export class CapabilityManager {
  private state: State = EMPTY;
  private readonly root: string;
  private next: DeviceCapabilitiesFrame | null = null;
  private applying: Promise<void> | null = null;

  private readonly policy: McpPolicy;

  constructor(private readonly options: CapabilityManagerOptions) {
    this.root = join(options.homeDir, "capabilities");
    this.policy = options.mcpPolicy ?? {
      permissionMode: "bypassPermissions",
      stdio: true,
      env: [],
    };
  }

  private get pluginDir() {
    return join(this.root, "plugin");
  }

  /** Reads what was applied before a restart: an offline device keeps its capabilities. */
  async load(): Promise<void> {
    try {
      const raw: unknown = JSON.parse(await readFile(join(this.root, "state.json"), "utf8"));
      const parsed = State.safeParse(raw);
      if (parsed.success) this.state = parsed.data;
    } catch {
      // Nothing applied yet (or unreadable): start empty; the hub sends the state on register.
    }
  }

  applied(): AppliedCapabilities {
    return {
      digest: this.state.digest,
      error: this.state.error,
      policy: policyReport(this.policy, this.state.mcpServers),
    };
  }

  /** The state keeps the servers as the owner defined them; each run gets what this device allows. */
  forRun(): RunCapabilities {
    const hasSkills = this.state.skills.length > 0 && existsSync(this.pluginDir);
    return {
      pluginDir: hasSkills ? this.pluginDir : null,
      mcpServers: applyMcpPolicy(this.state.mcpServers, this.policy).servers,
      runtime: this.state.runtime,
    };
  }

  /** Applies a desired state; frames that arrive meanwhile collapse into the latest. */
  apply(frame: DeviceCapabilitiesFrame): Promise<void> {
    this.next = frame;
    if (!this.applying) {
      this.applying = this.drain().finally(() => (this.applying = null));
    }
    return this.applying;
  }

  /** Resolves when no apply is running. */
  async settled(): Promise<void> {
    while (this.applying) await this.applying;
  }

  /**
   * What a new message runs with: waits (at most `waitMs`) for an apply in progress, so a
   * message sent just after a settings change gets it; never blocks a task for long.
   */
  async forNextRun(waitMs = 5000): Promise<RunCapabilities> {
    if (this.applying) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.settled(),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs))),
      ]);
      clearTimeout(timer);
    }
    return this.forRun();
  }

  private async drain(): Promise<void> {
    while (this.next) {
      const frame = this.next;
      this.next = null;
      if (frame.digest === this.state.digest && this.state.error === null) {
        this.options.onApplied?.(this.applied());
        continue;
      }
      try {
        await this.applyOne(frame);
      } catch (error) {
        // Never fatal: tasks go on with what was applied before.
        this.state = { ...this.state, error: `could not apply: ${describe(error)}` };
      }
      this.options.log.info("managed capabilities applied", {
        digest: this.state.digest,
        skills: this.state.skills.map((s) => s.name).join(",") || "-",
        mcpServers: this.state.mcpServers.map((s) => s.name).join(",") || "-",
        error: this.state.error,
      });
      for (const line of applyMcpPolicy(this.state.mcpServers, this.policy).skipped) {
        this.options.log.warn(`managed MCP: ${line}`);
      }
      this.options.onApplied?.(this.applied());
    }
  }

  private async applyOne(frame: DeviceCapabilitiesFrame): Promise<void> {
    await mkdir(this.root, { recursive: true });
    const staging = join(this.root, `plugin.next-${randomBytes(6).toString("hex")}`);
    const errors: string[] = [];
    const skills: State["skills"] = [];
    try {
      await mkdir(join(staging, ".claude-plugin"), { recursive: true });
      await writeFile(
        join(staging, ".claude-plugin", "plugin.json"),
        JSON.stringify({
          name: PLUGIN_NAME,
          version: "1.0.0",
          description: "Skills managed in Wegent Edge settings",
        }),
      );
      await mkdir(join(staging, "skills"));
      for (const skill of frame.skills) {
        const target = join(staging, "skills", skill.name);
        const have = this.state.skills.find((s) => s.name === skill.name);
        try {
          if (
            have?.sha256 === skill.sha256 &&
            existsSync(join(this.pluginDir, "skills", skill.name))
          ) {
            await cp(join(this.pluginDir, "skills", skill.name), target, { recursive: true });
          } else {
            await writeSkill(target, await this.download(skill.url, skill.token), skill.name);
          }
          skills.push(skill);
        } catch (error) {
          await rm(target, { recursive: true, force: true });
          errors.push(`skill ${skill.name}: ${describe(error)}`);
        }
      }
      const old = join(this.root, `plugin.old-${randomBytes(6).toString("hex")}`);
      if (existsSync(this.pluginDir)) await rename(this.pluginDir, old);
      await rename(staging, this.pluginDir);
      await rm(old, { recursive: true, force: true });
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
    this.state = {
      digest: errors.length === 0 ? frame.digest : this.state.digest,
      error: errors.length === 0 ? null : errors.join("; ").slice(0, 2000),
      skills,
      mcpServers: frame.mcpServers,
      runtime: frame.runtime,
    };
    await writeFile(join(this.root, "state.json.tmp"), JSON.stringify(this.state));
    await rename(join(this.root, "state.json.tmp"), join(this.root, "state.json"));
  }

  private async download(path: string, token: string): Promise<unknown> {
    const base = this.options.backendUrl.replace(/^ws(s?):\/\//i, "http$1://");
    const url = new URL(path, base);
    if (url.origin !== new URL(base).origin) throw new Error("the skill link leaves the backend");
    const response = await (this.options.fetch ?? fetch)(url, {
      headers: { Authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS),
      redirect: "error",
    });
    if (!response.ok) throw new Error(`download answered ${response.status}`);
    const text = await response.text();
    if (text.length > MAX_DOWNLOAD_BYTES) throw new Error("download too large");
    return JSON.parse(text) as unknown;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
