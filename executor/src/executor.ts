import { join } from "node:path";
import type {
  DeviceRegistered,
  DeviceRequest,
  RuntimeId,
  RuntimeOffers,
  ExecutorFrame,
  HubFrame,
} from "@wegent/protocol";
import { assertNever } from "@wegent/protocol";
import { HubConnection, type StopReason } from "./connection/connection";
import { answerDeviceRequest } from "./connection/device-rpc";
import { homedir } from "node:os";
import { CommandRunner } from "./commands/runner";
import { TaskWorkspaces } from "./workspace/places";
import { silentLogger, type Logger } from "./log";
import { Outbox } from "./connection/outbox";
import { TaskManager } from "./task-manager";
import { metrics } from "./telemetry";
import { RuntimeRegistry } from "./runtime/registry";
import {
  DEFAULT_TIMINGS,
  type ExecutorExit,
  type ExecutorOptions,
  type ExecutorTimings,
  TOKEN_WARNING_MS,
} from "./executor-options";
import { CapabilityManager } from "./capabilities/manager";
import { WorkspaceService } from "./workspace/service";

export {
  DEFAULT_TIMINGS,
  type ExecutorAuth,
  type ExecutorExit,
  type ExecutorOptions,
  type ExecutorTimings,
} from "./executor-options";

/**
 * The executor: one connection to the device's hub, the tasks it runs, and the outbox that
 * makes sure none of their output is lost. `run()` resolves when it has stopped for good.
 */
export class Executor {
  private readonly log: Logger;
  private readonly timings: ExecutorTimings;
  private readonly connection: HubConnection;
  private readonly outbox: Outbox;
  private readonly tasks: TaskManager;
  private readonly capabilities: CapabilityManager;
  private readonly workspaces: WorkspaceService;
  private isRegistered = false;
  private hasRegisteredBefore = false;
  /** The runtimes of this device, what they found of themselves and which are ready. */
  private readonly runtimes: RuntimeRegistry;
  /** `runtimeInfo` changed since it was last sent. */
  private runtimeInfoChanged = false;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private refreshingProjects = false;
  private projectsChanged = false;
  private stopping: Promise<void> | null = null;
  private finished = false;
  private resolveExit: (exit: ExecutorExit) => void = () => {};
  private readonly exit: Promise<ExecutorExit>;
  private ackWaiters: (() => void)[] = [];
  private readonly places: TaskWorkspaces;
  private readonly commands: CommandRunner;

  constructor(private readonly options: ExecutorOptions) {
    this.log = options.log ?? silentLogger;
    this.timings = { ...DEFAULT_TIMINGS, ...options.timings };
    this.exit = new Promise((resolve) => (this.resolveExit = resolve));
    // Cloud agents run sandboxed: the Changes tab never uses a git repo one of them could write.
    const agentsSandboxed = options.deviceType !== "local";
    this.places = new TaskWorkspaces(options.homeDir, options.workspaceRoot, { agentsSandboxed });
    this.commands = new CommandRunner({
      agentsSandboxed,
      ownerCommands: options.ownerCommands ?? [],
      version: options.version,
      workspaceRoot: options.workspaceRoot,
      homeDir: options.homeDir,
      userHome: options.userHome ?? homedir(),
      projectDirs: () => options.local?.list().map((p) => p.path) ?? [],
      resolveTask: (taskId) => this.places.resolve(taskId),
      baseBranch: (taskId) => this.places.baseBranch(taskId),
      ...(options.commandEnv ? { baseEnv: options.commandEnv } : {}),
    });
    this.outbox = new Outbox(
      (frame) => this.isRegistered && this.connection.send(frame),
      options.outputBatch,
      (ms) => metrics().streamLag(ms),
    );
    this.capabilities = new CapabilityManager({
      homeDir: options.homeDir,
      backendUrl: options.backendUrl,
      log: this.log,
      ...(options.mcpPolicy ? { mcpPolicy: options.mcpPolicy } : {}),
      // Report at once, not at the next heartbeat: the UI shows "synced" in a moment.
      onApplied: () => this.heartbeat(),
    });
    this.runtimes = new RuntimeRegistry(options.runtimes);
    this.tasks = new TaskManager({
      runtimes: this.runtimes,
      outbox: this.outbox,
      maxSlots: options.maxSlots,
      workspaceRoot: options.workspaceRoot,
      homeDir: options.homeDir,
      ...(options.local ? { workspaces: options.local.workspaces } : {}),
      onWorkspace: (taskId, dir) => this.places.record(taskId, dir),
      log: this.log,
      sendAccepted: (frame) => this.send(frame),
      sendInputRequest: (frame) => this.send(frame),
      capabilities:
        options.deviceType === "local" ? () => this.capabilities.forNextRun() : undefined,
      preExecuteHook: options.preExecuteHook ?? null,
      onPreflight: (runtime, ready) => {
        this.runtimes.setReady(runtime, ready);
        // The owner sees a fixed (or new) problem without waiting for a restart.
        void this.describeRuntime();
      },
    });
    this.workspaces = new WorkspaceService({
      backendUrl: options.backendUrl,
      workspaceRoot: options.workspaceRoot,
      homeDir: options.homeDir,
      agentsSandboxed,
      deviceId: options.deviceId,
      ...(options.local
        ? {
            claudeProjectsRoot: join(options.local.configDir, "projects"),
            projects: () => options.local!.list(),
            local: true,
          }
        : {}),
      log: this.log,
      running: (taskId) => this.tasks.runningTaskIds().includes(taskId),
    });
    this.connection = new HubConnection(
      {
        backendUrl: options.backendUrl,
        token: options.token,
        ...(options.auth
          ? {
              authorize: () => options.auth!.authorize(),
              refused: (code: string, message: string) =>
                options.auth!.refusedConnect(code, message),
            }
          : {}),
        deviceId: options.deviceId,
        timings: this.timings,
        log: this.log,
        random: options.random,
      },
      {
        onOpen: () => this.register(),
        onFrame: (frame) => this.handle(frame),
        onDown: () => this.down(),
        onTerminal: (reason) => void this.terminate(reason),
      },
    );
  }

  /** Checks the runtime, connects, and resolves once the executor has stopped for good. */
  async run(): Promise<ExecutorExit> {
    if (this.options.local) {
      const projects = await this.options.local.projects.scan();
      this.log.info(`${projects.length} project(s) offered`, {
        projects: projects.map((p) => `${p.name}${p.git ? ` (${p.branch ?? "detached"})` : ""}`),
      });
    }
    await this.capabilities.load();
    for (const problem of await this.runtimes.preflightAll()) {
      this.log.warn(`runtime ${problem.id} not ready: ${problem.message}`, { code: problem.code });
    }
    await this.describeRuntime();
    if (!this.stopping && !this.finished) this.connection.start();
    return this.exit;
  }

  get registered(): boolean {
    return this.isRegistered;
  }

  get runningTaskIds(): string[] {
    return this.tasks.runningTaskIds();
  }

  /**
   * What we tell the hub we are running: tasks still running here, and tasks whose output (for
   * example a completion sent while the socket was down) the hub has not acknowledged. Leaving
   * the latter out would make the hub fail them as lost before their re-sent output arrives.
   */
  private reportedTaskIds(): string[] {
    return [...new Set([...this.tasks.runningTaskIds(), ...this.outbox.taskIds])];
  }

  /** Messages running here now (the slots in use). */
  get runningMessages(): number {
    return this.tasks.runningCount;
  }

  get unackedFrames(): number {
    return this.outbox.unackedCount;
  }

  /**
   * Graceful stop: take no more work, let running tasks finish for the stop timeout, abort the
   * rest (`executor_stopped`), give the hub a moment to acknowledge, close with 1000.
   */
  stop(reason = "executor stopped by the user"): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopping = this.gracefulStop(reason);
    return this.stopping;
  }

  private async gracefulStop(reason: string): Promise<void> {
    this.tasks.stopAccepting();
    this.send({ type: "device:goodbye", reason });
    const running = this.tasks.runningCount;
    if (running > 0) {
      this.log.info(
        `stopping: waiting up to ${this.options.stopTimeoutMs / 1000} s for ${running} running task(s)`,
      );
      const idle = await this.tasks.whenIdle(this.options.stopTimeoutMs);
      if (!idle) {
        this.log.warn("stopping: aborting the tasks still running");
        this.tasks.abortAll("executor_stopped");
        await this.tasks.whenIdle(this.timings.abortWaitMs);
      }
    }
    await this.whenAllAcked(this.timings.finalAckWaitMs);
    if (this.outbox.unackedCount > 0) {
      this.log.warn("stopping before the backend acknowledged every frame", {
        unacked: this.outbox.unackedCount,
      });
    }
    await this.finish({ exitCode: 0, message: "stopped" }, 1000, "executor stopped");
  }

  private async terminate(reason: StopReason): Promise<void> {
    this.log.error(reason.message);
    // Nobody will receive their output any more: stop the agents rather than leave them running.
    this.tasks.stopAccepting();
    this.tasks.abortAll("executor_stopped");
    await this.tasks.whenIdle(this.timings.abortWaitMs);
    await this.finish({ exitCode: reason.exitCode, message: reason.message }, 1000, "");
  }

  private async finish(exit: ExecutorExit, code: number, reason: string): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    // Warm Claude Code sessions (no reply running) end with the executor.
    await this.runtimes.closeAll();
    this.isRegistered = false;
    this.stopHeartbeat();
    await this.connection.close(code, reason);
    this.resolveExit(exit);
  }

  private register(): void {
    const runtimeInfo = this.runtimes.report();
    this.connection.send({
      type: "device:register",
      deviceId: this.options.deviceId,
      name: this.options.deviceName,
      platform: this.options.platform,
      executorVersion: this.options.version,
      maxSlots: this.options.maxSlots,
      deviceType: this.options.deviceType,
      runtimes: this.runtimes.readyIds(),
      runningTaskIds: this.reportedTaskIds(),
      projects: this.options.local?.list() ?? [],
      commands: this.commands.ownerKeys(),
      capabilities: this.capabilities.applied(),
      ...(this.options.sandbox ? { sandbox: this.options.sandbox } : {}),
      ...(runtimeInfo ? { runtimeInfo } : {}),
    });
    this.runtimeInfoChanged = false;
  }

  /** Describes the runtimes again; a change goes to the hub at once (in a heartbeat). */
  private async describeRuntime(): Promise<void> {
    const changed = await this.runtimes.describeAll((id, error) => {
      this.log.debug("could not describe the runtime", { runtime: id, error: String(error) });
    });
    if (changed) this.runtimeInfoUpdated();
  }

  /**
   * What a runtime on this device offers (models, commands), learned from a live session: it
   * fills that runtime's entry of `runtimeInfo`, reported at once (heartbeat) when it changed.
   */
  reportOffers(offers: RuntimeOffers, runtime: RuntimeId = "claude-code"): void {
    if (this.runtimes.learnOffers(runtime, offers)) this.runtimeInfoUpdated();
  }

  /** `runtimeInfo` changed: sent in a heartbeat now (the register frame carries the first). */
  private runtimeInfoUpdated(): void {
    this.runtimeInfoChanged = true;
    if (this.isRegistered) this.heartbeat();
  }

  /** Answers one device RPC request; every request gets exactly one response. */
  private async answer(frame: DeviceRequest): Promise<void> {
    const response = await answerDeviceRequest(frame, {
      ...this.options.local?.handlers(),
      ...this.workspaces.handlers(),
      "command.run": (params) => this.commands.run(params),
      "task.message": (params) => this.tasks.queueMessage(params),
      "task.withdraw": (params) =>
        Promise.resolve(
          this.tasks.withdrawMessage(params.taskId, params.userMessageId)
            ? { withdrawn: true as const }
            : null,
        ),
    });
    if (!this.send(response)) {
      this.log.debug("device response not sent: not connected", { method: frame.method });
    }
  }

  private handle(frame: HubFrame): void {
    switch (frame.type) {
      case "device:registered":
        this.registeredByHub(frame);
        return;
      case "task:execute":
        this.tasks.execute(frame);
        return;
      case "task:ack":
        this.outbox.ack(frame.messageId, frame.seq);
        if (this.outbox.unackedCount === 0) this.notifyAcked();
        return;
      case "task:cancel":
        this.tasks.cancel(frame);
        return;
      case "device:request":
        void this.answer(frame);
        return;
      case "task:input-answer":
        this.tasks.answer(frame);
        return;
      case "device:capabilities":
        // A cloud executor runs other users' tasks: the operator's MCP servers (with their
        // env values) and extra agent variables must never reach them.
        if (this.options.deviceType === "cloud") {
          this.log.warn("managed capabilities are not applied on a cloud executor");
          return;
        }
        void this.capabilities.apply(frame);
        return;
      case "error":
        this.log.warn(`backend error: ${frame.message}`, { code: frame.code });
        return;
      default:
        assertNever(frame);
    }
  }

  private registeredByHub(frame: DeviceRegistered): void {
    const firstTime = !this.hasRegisteredBefore;
    this.hasRegisteredBefore = true;
    this.isRegistered = true;
    this.options.auth?.connected();
    this.connection.registered(frame.pingIntervalMs);
    this.log.info(firstTime ? "registered" : "registered again", {
      at: new Date().toISOString(),
      name: frame.name,
    });
    for (const messageId of this.outbox.resume(frame.resume)) this.tasks.abandon(messageId);
    // Requests still waiting: the hub keeps one per id, and answers again if it already has.
    for (const request of this.tasks.openInputRequests()) this.send(request);
    if (this.outbox.unackedCount === 0) this.notifyAcked();
    this.startHeartbeat(Math.min(this.timings.heartbeatIntervalMs, frame.heartbeatIntervalMs));
    this.warnIfTokenExpiresSoon(frame.tokenExpiresAt);
    if (this.stopping) this.send({ type: "device:goodbye", reason: "executor stopping" });
  }

  private warnIfTokenExpiresSoon(expiresAt: string | null): void {
    if (!expiresAt) return;
    const left = Date.parse(expiresAt) - Date.now();
    if (Number.isNaN(left) || left > TOKEN_WARNING_MS) return;
    const days = Math.max(0, left / 86_400_000);
    this.log.warn(
      `the API token expires on ${expiresAt} (in ${days < 1 ? `${Math.round(days * 24)} h` : `${days.toFixed(1)} days`}) — generate a new one in Settings → API Token before then`,
    );
  }

  private down(): void {
    this.isRegistered = false;
    this.stopHeartbeat();
  }

  private startHeartbeat(intervalMs: number): void {
    this.stopHeartbeat();
    this.heartbeatTimer = setInterval(() => this.heartbeat(), intervalMs);
  }

  private heartbeat(): void {
    const local = this.options.local;
    const runtimeInfo = this.runtimes.report();
    const sent = this.send({
      type: "device:heartbeat",
      runningTaskIds: this.reportedTaskIds(),
      capabilities: this.capabilities.applied(),
      ...(this.projectsChanged && local ? { projects: local.list() } : {}),
      ...(this.runtimeInfoChanged && runtimeInfo ? { runtimeInfo } : {}),
    });
    if (sent) {
      this.projectsChanged = false;
      this.runtimeInfoChanged = false;
    }
    // Branch and dirty of the owner's checkouts change while we run: re-read them in the
    // background (git can be slow on a big repository) and send them with the next heartbeat.
    if (local && !this.refreshingProjects) {
      this.refreshingProjects = true;
      void local.projects
        .refresh()
        .then((changed) => (this.projectsChanged ||= changed))
        .catch(() => undefined)
        .finally(() => (this.refreshingProjects = false));
    }
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  /** Frames other than task output go only to a registered hub. */
  private send(frame: ExecutorFrame): boolean {
    return this.isRegistered && this.connection.send(frame);
  }

  private whenAllAcked(timeoutMs: number): Promise<void> {
    if (this.outbox.unackedCount === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.ackWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private notifyAcked(): void {
    const waiters = this.ackWaiters;
    this.ackWaiters = [];
    for (const waiter of waiters) waiter();
  }
}
