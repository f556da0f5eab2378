import { DEFAULT_PERMISSION_MODE, PermissionMode, type Project, RuntimeId } from "@wegent/protocol";

/**
 * The DeviceHub's own SQLite (meta and work; the output is in OutputLog): the truth about a device *now*. Everything the hub needs after
 * hibernation or eviction lives here, never only in memory.
 */

export type WorkState = "queued" | "dispatched" | "running" | "cancelling";

/** One message of a task, queued on or holding a slot of this device. */
export interface Work {
  messageId: string;
  taskId: string;
  /** The task's owner (for cloud devices, not the device's owner). */
  ownerId: string;
  prompt: string;
  resumeSessionId: string | null;
  /** The device project it works in (an id the device advertised), or null. */
  projectId: string | null;
  /** How the agent may use tools for this message (sent with task:execute). */
  permissionMode: PermissionMode;
  /** The model the owner picked for this message, or null (the device's setting). */
  model?: string | null;
  /** The task's runtime (sent with task:execute); default claude-code. */
  runtime?: RuntimeId;
  state: WorkState;
  queuedAt: number;
  dispatchedAt: number | null;
  attempt: number;
  cancelRequestedAt: number | null;
  /** Highest contiguous output sequence stored. */
  lastSeq: number;
  /** The hub's submit span (docs/observability.md), or null when tracing is off. */
  traceparent?: string | null;
  /** When the device took it (`task:accepted`) and its first text/thinking was stored (ms). */
  acceptedAt?: number | null;
  firstTokenAt?: number | null;
}

export interface DeviceMeta {
  ownerId: string;
  deviceId: string;
  /** Name the executor reports (its hostname). */
  name: string;
  /** Name shown to the user: the user's rename, else `name`. */
  displayName: string;
  type: "local" | "cloud";
  platform: string;
  version: string;
  /** Slots in use at most: what the executor offers, within the owner's limit. */
  maxSlots: number;
  /** What the executor offered at registration, and the owner's limit (null: none). */
  offeredSlots: number;
  slotLimit: number | null;
  /** The socket that may receive tasks; others are being replaced. */
  connId: string | null;
  registered: boolean;
  /** The executor said goodbye: no new work. */
  draining: boolean;
  tokenId: string | null;
  tokenExpiresAt: string | null;
  disconnectedAt: number | null;
  offlineSince: number | null;
  lastSeenAt: number | null;
  /** The figures last written to D1 and pushed live, and when (to skip repeats). */
  lastPublished: string | null;
  lastWrittenAt: number | null;
  /** The projects the executor advertised (local devices). */
  projects: Project[];
  /**
   * The runtimes the executor has (ready or described) at its last registration; null: it did
   * not say (then the executor itself refuses a runtime it lacks).
   */
  runtimes?: RuntimeId[] | null;
}

const DEFAULT_META: DeviceMeta = {
  ownerId: "",
  deviceId: "",
  name: "",
  displayName: "",
  type: "local",
  platform: "",
  version: "",
  maxSlots: 5,
  offeredSlots: 5,
  slotLimit: null,
  connId: null,
  registered: false,
  draining: false,
  tokenId: null,
  tokenExpiresAt: null,
  disconnectedAt: null,
  offlineSince: null,
  lastSeenAt: null,
  lastPublished: null,
  lastWrittenAt: null,
  projects: [],
};

export type SqlValue = ArrayBuffer | string | number | null;
export type Row = Record<string, SqlValue>;

/** The part of the Durable Object's `SqlStorage` the hub uses (so the logic runs on Node too). */
export interface Sql {
  exec(query: string, ...bindings: SqlValue[]): { toArray(): Row[] } & Iterable<Row>;
}

export class HubStore {
  private meta: DeviceMeta | null = null;

  constructor(private readonly sql: Sql) {
    sql.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS work (
        message_id TEXT PRIMARY KEY,
        task_id TEXT NOT NULL,
        owner_id TEXT NOT NULL,
        prompt TEXT NOT NULL,
        resume_session_id TEXT,
        state TEXT NOT NULL,
        queued_at INTEGER NOT NULL,
        dispatched_at INTEGER,
        attempt INTEGER NOT NULL DEFAULT 0,
        cancel_requested_at INTEGER,
        last_seq INTEGER NOT NULL DEFAULT 0,
        position INTEGER NOT NULL
      );
    `);
    // Added after the first release: hubs created before them get the columns here.
    const columns = sql.exec("PRAGMA table_info(work)").toArray();
    for (const column of ["project_id", "permission_mode", "model", "runtime", "traceparent"]) {
      if (!columns.some((c) => c.name === column)) {
        sql.exec(`ALTER TABLE work ADD COLUMN ${column} TEXT`);
      }
    }
    for (const column of ["accepted_at", "first_token_at"]) {
      if (!columns.some((c) => c.name === column)) {
        sql.exec(`ALTER TABLE work ADD COLUMN ${column} INTEGER`);
      }
    }
  }

  // --- meta ---------------------------------------------------------------------------------

  getMeta(): DeviceMeta {
    if (!this.meta) {
      const row = this.sql.exec("SELECT value FROM meta WHERE key = 'device'").toArray()[0];
      this.meta = row
        ? { ...DEFAULT_META, ...(JSON.parse(String(row.value)) as Partial<DeviceMeta>) }
        : { ...DEFAULT_META };
    }
    return this.meta;
  }

  setMeta(patch: Partial<DeviceMeta>): DeviceMeta {
    this.meta = { ...this.getMeta(), ...patch };
    this.sql.exec(
      "INSERT INTO meta (key, value) VALUES ('device', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      JSON.stringify(this.meta),
    );
    return this.meta;
  }

  // --- work (slots and queue) ----------------------------------------------------------------

  private toWork(row: Row): Work {
    return {
      messageId: String(row.message_id),
      taskId: String(row.task_id),
      ownerId: String(row.owner_id),
      prompt: String(row.prompt),
      resumeSessionId: row.resume_session_id === null ? null : String(row.resume_session_id),
      projectId:
        row.project_id === null || row.project_id === undefined ? null : String(row.project_id),
      state: String(row.state) as WorkState,
      queuedAt: Number(row.queued_at),
      dispatchedAt: row.dispatched_at === null ? null : Number(row.dispatched_at),
      attempt: Number(row.attempt),
      cancelRequestedAt: row.cancel_requested_at === null ? null : Number(row.cancel_requested_at),
      lastSeq: Number(row.last_seq),
      permissionMode: PermissionMode.catch(DEFAULT_PERMISSION_MODE).parse(row.permission_mode),
      model: typeof row.model === "string" ? row.model : null,
      runtime: RuntimeId.catch("claude-code").parse(row.runtime ?? "claude-code"),
      traceparent: typeof row.traceparent === "string" ? row.traceparent : null,
      acceptedAt: typeof row.accepted_at === "number" ? row.accepted_at : null,
      firstTokenAt: typeof row.first_token_at === "number" ? row.first_token_at : null,
    };
  }

  allWork(): Work[] {
    return this.sql
      .exec("SELECT * FROM work ORDER BY position")
      .toArray()
      .map((r) => this.toWork(r));
  }

  work(messageId: string): Work | null {
    const row = this.sql.exec("SELECT * FROM work WHERE message_id = ?", messageId).toArray()[0];
    return row ? this.toWork(row) : null;
  }

  /** Work holding a slot: dispatched, running or being cancelled. */
  slotHolders(): Work[] {
    return this.allWork().filter((w) => w.state !== "queued");
  }

  queue(): Work[] {
    return this.allWork().filter((w) => w.state === "queued");
  }

  addWork(w: Omit<Work, "lastSeq" | "attempt" | "dispatchedAt" | "cancelRequestedAt">): void {
    this.sql.exec(
      `INSERT INTO work (message_id, task_id, owner_id, prompt, resume_session_id, project_id, state, queued_at, permission_mode, model, runtime, position)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(position), 0) + 1 FROM work))`,
      w.messageId,
      w.taskId,
      w.ownerId,
      w.prompt,
      w.resumeSessionId,
      w.projectId,
      w.state,
      w.queuedAt,
      w.permissionMode,
      w.model ?? null,
      w.runtime ?? "claude-code",
    );
  }

  /** The trace context the message's later spans continue (tracing on only). */
  setTraceparent(messageId: string, traceparent: string): void {
    this.sql.exec("UPDATE work SET traceparent = ? WHERE message_id = ?", traceparent, messageId);
  }

  markDispatched(messageId: string, at: number, attempt: number): void {
    this.sql.exec(
      "UPDATE work SET state = 'dispatched', dispatched_at = ?, attempt = ? WHERE message_id = ?",
      at,
      attempt,
      messageId,
    );
  }

  /** The first time the device took it / its first text or thinking (later ones keep it). */
  markAccepted(messageId: string, at: number): void {
    this.sql.exec(
      "UPDATE work SET accepted_at = COALESCE(accepted_at, ?) WHERE message_id = ?",
      at,
      messageId,
    );
  }

  markFirstToken(messageId: string, at: number): void {
    this.sql.exec(
      "UPDATE work SET first_token_at = COALESCE(first_token_at, ?) WHERE message_id = ?",
      at,
      messageId,
    );
  }

  setState(messageId: string, state: WorkState): void {
    this.sql.exec("UPDATE work SET state = ? WHERE message_id = ?", state, messageId);
  }

  markCancelling(messageId: string, at: number): void {
    this.sql.exec(
      "UPDATE work SET state = 'cancelling', cancel_requested_at = ? WHERE message_id = ?",
      at,
      messageId,
    );
  }

  /** A contiguous output frame was stored: it is the new last seq, and the work runs. */
  outputStored(messageId: string, seq: number): void {
    this.sql.exec(
      "UPDATE work SET last_seq = ?, state = CASE WHEN state = 'dispatched' THEN 'running' ELSE state END WHERE message_id = ?",
      seq,
      messageId,
    );
  }

  setLastSeq(messageId: string, seq: number): void {
    this.sql.exec("UPDATE work SET last_seq = ? WHERE message_id = ?", seq, messageId);
  }

  removeWork(messageId: string): void {
    this.sql.exec("DELETE FROM work WHERE message_id = ?", messageId);
  }

  clearAll(): void {
    this.sql.exec("DELETE FROM work; DELETE FROM meta;");
    this.meta = null;
  }
}
