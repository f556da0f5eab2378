// A protocol-level device whose link is the real executor's: `HubConnection` from
// executor/src/connection/connection.ts with the executor's default timings, so its dialing, pings, watchdog
// and reconnect backoff/jitter (protocol `reconnectDelay`) are the product's, not a copy. It
// registers on every open (with the tasks it still runs, as wegent-executor does), heartbeats
// at the hub's interval and records when it went down, dialed and registered again.
import { randomUUID } from "node:crypto";
import type { HubFrame } from "@wegent/protocol";
import { HubConnection } from "../../executor/src/connection/connection";
import { DEFAULT_TIMINGS } from "../../executor/src/executor-options";
import type { Logger } from "../../executor/src/log";
import { DeviceAuth } from "../../executor/src/security/device-auth";
import { doneFrame } from "./device";

export interface FleetDeviceOptions {
  origin: string;
  token: string;
  maxSlots?: number;
  /** After accepting a task:execute, finish it at once (default false: it keeps running). */
  autoComplete?: boolean;
  /**
   * Connect as wegent-executor does: exchange the token for a device credential and rotate it
   * before every dial (POST /api/devices/credential, executor/src/security/device-auth.ts),
   * kept in this folder. Without it the token itself is the bearer.
   */
  credentialHome?: string;
}

/** What the fleet saw, in `Date.now()` milliseconds; shared by every device of one fleet. */
export class FleetLog {
  /** Dials started: a credential exchange (when rotating) or else an upgrade attempt. */
  dials: number[] = [];
  /** Sockets opened (upgrade answered 101). */
  opens: number[] = [];
  /** `device:registered` received. */
  registrations: number[] = [];
  /** Dials that failed before the socket opened (refused, 5xx, timeout). */
  failedDials: number[] = [];
  /** Close codes of established links that went down, with how many. */
  closeCodes = new Map<number, number>();
  terminal: string[] = [];

  reset(): void {
    this.dials = [];
    this.opens = [];
    this.registrations = [];
    this.failedDials = [];
    this.closeCodes.clear();
    this.terminal = [];
  }
}

/** The executor's log lines, counted instead of printed. */
function countingLogger(fleet: FleetLog, rotating: boolean): Logger {
  return {
    debug(message) {
      if (message === "connecting" && !rotating) fleet.dials.push(Date.now());
    },
    info(message, fields) {
      if (message.startsWith("cannot reach")) fleet.failedDials.push(Date.now());
      if (message.startsWith("disconnected")) {
        const code = Number(fields?.code ?? 0);
        fleet.closeCodes.set(code, (fleet.closeCodes.get(code) ?? 0) + 1);
      }
    },
    warn(message) {
      // a refused upgrade that will be retried; the failed dial is counted by its "info" line
      void message;
    },
    error: () => undefined,
  };
}

export class FleetDevice {
  readonly deviceId = `fleet${randomUUID().replace(/-/g, "").slice(0, 20)}`;
  /** Tasks it runs: task id → message id. */
  readonly running = new Map<string, string>();
  registeredAt: number | null = null;
  private readonly connection: HubConnection;
  private heartbeat: NodeJS.Timeout | null = null;
  private readonly auth: DeviceAuth | null;
  private waiting: (() => void)[] = [];

  constructor(
    readonly options: FleetDeviceOptions,
    private readonly fleet: FleetLog,
  ) {
    const log = countingLogger(fleet, Boolean(options.credentialHome));
    this.auth = options.credentialHome
      ? new DeviceAuth({
          backendUrl: options.origin,
          homeDir: options.credentialHome,
          deviceId: this.deviceId,
          token: options.token,
          log,
        })
      : null;
    const auth = this.auth;
    this.connection = new HubConnection(
      {
        backendUrl: options.origin,
        token: options.token,
        ...(auth
          ? {
              authorize: () => {
                fleet.dials.push(Date.now());
                return auth.authorize();
              },
              refused: (code: string, message: string) => auth.refusedConnect(code, message),
            }
          : {}),
        deviceId: this.deviceId,
        timings: DEFAULT_TIMINGS,
        log,
      },
      {
        onOpen: () => {
          fleet.opens.push(Date.now());
          this.register();
        },
        onFrame: (frame) => this.handle(frame),
        onDown: () => {
          this.registeredAt = null;
          this.stopHeartbeat();
        },
        onTerminal: (reason) => fleet.terminal.push(reason.message),
      },
    );
  }

  start(): void {
    this.connection.start();
  }

  get registered(): boolean {
    return this.registeredAt !== null && this.connection.isOpen;
  }

  /** Resolves once registered (again); rejects after timeoutMs. */
  whenRegistered(timeoutMs: number): Promise<void> {
    if (this.registered) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.deviceId} not registered in ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiting.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  send(frame: Parameters<HubConnection["send"]>[0]): boolean {
    return this.connection.send(frame);
  }

  async close(): Promise<void> {
    this.stopHeartbeat();
    await this.connection.close(1000, "bench done");
  }

  private register(): void {
    this.connection.send({
      type: "device:register",
      deviceId: this.deviceId,
      name: `fleet ${this.deviceId.slice(-6)}`,
      platform: "linux",
      executorVersion: "0.0.0-bench",
      maxSlots: this.options.maxSlots ?? 1,
      deviceType: "local",
      runtimes: ["claude-code"],
      runningTaskIds: [...this.running.keys()],
      projects: [],
      commands: [],
    });
  }

  private handle(frame: HubFrame): void {
    if (frame.type === "device:registered") {
      this.registeredAt = Date.now();
      this.fleet.registrations.push(this.registeredAt);
      this.connection.registered(frame.pingIntervalMs);
      this.auth?.connected();
      this.startHeartbeat(Math.min(DEFAULT_TIMINGS.heartbeatIntervalMs, frame.heartbeatIntervalMs));
      for (const wake of this.waiting.splice(0)) wake();
    } else if (frame.type === "task:execute") {
      this.send({ type: "task:accepted", taskId: frame.taskId, messageId: frame.messageId });
      if (this.options.autoComplete) this.complete(frame.taskId, frame.messageId);
      else this.running.set(frame.taskId, frame.messageId);
    } else if (frame.type === "task:cancel") {
      this.running.delete(frame.taskId);
    }
  }

  /** Ends a task the device runs (seq 1: it sent no output). */
  complete(taskId: string, messageId: string): void {
    this.running.delete(taskId);
    this.send(doneFrame(taskId, messageId));
  }

  private startHeartbeat(intervalMs: number): void {
    this.stopHeartbeat();
    this.heartbeat = setInterval(() => {
      this.send({ type: "device:heartbeat", runningTaskIds: [...this.running.keys()] });
    }, intervalMs);
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }
}
