import type { AppliedCapabilities, DeviceRegister, DeviceRuntime, Project } from "@wegent/protocol";
import { CloseCode } from "@wegent/protocol";
import { log } from "../../edge/log";
import { toDevice } from "../contract";
import type { LiveOutbox } from "../live-outbox";
import {
  upsertDevice,
  writeDeviceFigures,
  writeDeviceProjects,
  writeDeviceRuntimes,
} from "./catalogue";
import { sendCapabilities, storeApplied } from "./capability-sync";
import { deviceRuntimeIds } from "./runtimes";
import type { Slots } from "./slots";
import { linkTo, sendFrame } from "./socket";
import type { HubStore } from "./store";
import type { Kept, WriteBehind } from "./write-behind";

const DEVICE_ROW_REFRESH_MS = 5 * 60_000;

/**
 * Presence of one device: registration, the socket going away (reconnecting for the grace,
 * then offline), and the figures written through to D1 and pushed to the owner.
 */
export class Presence {
  /** A figures write is queued and has not started: later changes ride on it. */
  private figuresQueued = false;

  constructor(
    private readonly env: Env,
    private readonly store: HubStore,
    private readonly slots: Slots,
    private readonly live: LiveOutbox,
    /** The hub's D1 writes, in order: figures never land out of order with each other. */
    private readonly writes: WriteBehind,
    /** Keeps a figures write that gave up, for the alarm to retry (pending-writes.ts). */
    private readonly kept?: Kept,
  ) {}

  /** device:register on the current socket. */
  async register(ws: WebSocket, frame: DeviceRegister): Promise<void> {
    const meta = this.store.getMeta();
    if (frame.deviceId !== meta.deviceId) {
      sendFrame(ws, {
        type: "error",
        code: "wrong_device",
        message: "device:register names another device id than the connection.",
      });
      ws.close(CloseCode.protocolAbuse, "Device id mismatch.");
      return;
    }
    const replaced = meta.registered;
    this.store.setMeta({
      name: frame.name,
      platform: frame.platform,
      version: frame.executorVersion,
      maxSlots: Math.min(frame.maxSlots, meta.slotLimit ?? frame.maxSlots),
      offeredSlots: frame.maxSlots,
      registered: true,
      draining: false,
      disconnectedAt: null,
      offlineSince: null,
      lastSeenAt: Date.now(),
      runtimes: deviceRuntimeIds(frame),
    });
    // One round trip keeps the row, its commands, projects and applied capabilities; the owner
    // sees the device from the row it returns (no second write unless the figures move).
    const figures = this.slots.figures();
    const row = await upsertDevice(this.env, this.store.getMeta(), figures, {
      commands: frame.commands,
      projects: frame.projects,
      applied: frame.capabilities ?? null,
      sandbox: frame.sandbox ?? null,
      runtimes: frame.runtimeInfo ?? null,
    });
    const displayName = row.customName ?? row.name;
    this.store.setMeta({
      displayName,
      projects: frame.projects,
      lastPublished: JSON.stringify(figures),
      lastWrittenAt: Date.now(),
    });
    this.live.push(meta.ownerId, { type: "device:status", device: toDevice(row) });
    log({ event: "device.registered", ownerId: meta.ownerId, deviceId: meta.deviceId, replaced });

    const link = linkTo(ws);
    await this.slots.reconcile(link, frame.runningTaskIds);
    const reported = new Set(frame.runningTaskIds);
    const holders = this.store.slotHolders();
    sendFrame(ws, {
      type: "device:registered",
      deviceId: meta.deviceId,
      name: displayName,
      pingIntervalMs: 10_000,
      heartbeatIntervalMs: 30_000,
      resume: holders
        .filter((w) => w.state !== "dispatched" || reported.has(w.taskId))
        .map((w) => ({ taskId: w.taskId, messageId: w.messageId, lastSeq: w.lastSeq })),
      tokenExpiresAt: this.store.getMeta().tokenExpiresAt,
    });
    for (const w of holders) {
      if (w.state === "dispatched" && !reported.has(w.taskId))
        this.slots.dispatch(link, w, w.attempt || 1);
      if (w.state === "cancelling") this.slots.sendCancel(link, w);
    }
    await this.syncCapabilities(ws, row.capabilitiesDesired);
    await this.slots.pump();
    this.slots.reportFigures();
    await this.publishStatus();
  }

  /** Sends the owner's desired capabilities; a failure never stands in the way of tasks. */
  async syncCapabilities(ws: WebSocket, recorded?: string | null): Promise<void> {
    const { ownerId, deviceId, type } = this.store.getMeta();
    // Cloud-pool executors run other users' tasks: the operator's capabilities stay off them.
    if (type !== "local") return;
    try {
      await sendCapabilities(
        this.env,
        ownerId,
        deviceId,
        (frame) => sendFrame(ws, frame),
        recorded,
      );
    } catch (error) {
      // The device catches up on its next register, or the next change.
      const message = error instanceof Error ? error.message : String(error);
      log({ event: "device.capabilities_send_failed", ownerId, deviceId, message }, "warn");
    }
  }

  /** What the device reports it applied; pushes the device when that changed. */
  async capabilitiesApplied(applied: AppliedCapabilities): Promise<void> {
    const { ownerId, deviceId } = this.store.getMeta();
    if (await storeApplied(this.env, ownerId, deviceId, applied)) {
      const { digest, error } = applied;
      log({ event: "device.capabilities", ownerId, deviceId, digest, error });
      this.store.setMeta({ lastPublished: null });
    }
  }

  /** The owner's limit on parallel tasks: running ones go on, new ones wait for a free slot. */
  async setSlotLimit(limit: number): Promise<void> {
    const meta = this.store.getMeta();
    this.store.setMeta({ slotLimit: limit, maxSlots: Math.min(meta.offeredSlots, limit) });
    this.store.setMeta({ lastPublished: null });
    await this.slots.pump();
    await this.publishStatus();
  }

  /**
   * Keeps the projects the device advertised (register, or a heartbeat that carries them) and
   * writes them through; the next publishStatus pushes the device with them to its owner.
   */
  async saveProjects(projects: Project[]): Promise<void> {
    const meta = this.store.setMeta({ projects, lastPublished: null });
    await writeDeviceProjects(this.env, meta, projects);
  }

  /** What the device found of its runtimes (a heartbeat carries it when it changed). */
  async saveRuntimes(runtimes: DeviceRuntime[]): Promise<void> {
    const had = this.store.getMeta().runtimes ?? [];
    const described = deviceRuntimeIds({ runtimes: had, runtimeInfo: runtimes });
    const meta = this.store.setMeta({ lastPublished: null, runtimes: described });
    await writeDeviceRuntimes(this.env, meta, runtimes);
  }

  /** The current socket is gone: reconnecting for the grace, then offline. */
  async socketGone(reason: string): Promise<boolean> {
    const meta = this.store.getMeta();
    if (!meta.connId) return false;
    this.store.setMeta({ connId: null, registered: false, disconnectedAt: Date.now() });
    log({ event: "device.lost", ownerId: meta.ownerId, deviceId: meta.deviceId, reason });
    this.slots.reportFigures();
    await this.publishStatus();
    return true;
  }

  async graceExpired(): Promise<void> {
    for (const w of this.store.slotHolders()) {
      await this.slots.finish(w, {
        status: w.state === "cancelling" ? "cancelled" : "failed",
        errorCode: "device_disconnected",
        errorMessage: `Device ${this.slots.deviceName()} disconnected.`,
      });
    }
    this.store.setMeta({ disconnectedAt: null, offlineSince: Date.now() });
    this.slots.reportFigures();
    await this.publishStatus();
  }

  /**
   * The figures may have changed: write them through to D1 (when changed, or every few
   * minutes) and push them, in the hub's order of writes.
   */
  publishStatus(): Promise<void> {
    return this.writes.then(() => this.writeFigures());
  }

  /** The same, written behind: nobody waits; one queued write serves any number of changes. */
  publishBehind(): void {
    if (this.figuresQueued) return;
    this.figuresQueued = true;
    this.writes.behind(
      "device status",
      () => {
        this.figuresQueued = false;
        return this.writeFigures();
      },
      this.kept,
    );
  }

  /** The figures as they are when the write runs. */
  private async writeFigures(): Promise<void> {
    const meta = this.store.getMeta();
    if (!meta.ownerId || !meta.platform) return; // never registered
    const figures = this.slots.figures();
    const key = JSON.stringify(figures);
    const now = Date.now();
    const changed = key !== meta.lastPublished;
    if (!changed && now - (meta.lastWrittenAt ?? 0) < DEVICE_ROW_REFRESH_MS) return;
    const device = await writeDeviceFigures(this.env, meta, figures);
    this.store.setMeta({ lastPublished: key, lastWrittenAt: now });
    if (changed) {
      log({
        event: "device.status",
        ownerId: meta.ownerId,
        deviceId: meta.deviceId,
        status: figures.status,
        slotsUsed: figures.slotsUsed,
      });
      if (device) this.live.push(meta.ownerId, { type: "device:status", device });
    }
  }
}
