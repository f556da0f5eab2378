// What the executor connects with. At every connect it exchanges what it holds for a fresh
// device credential (POST /api/devices/credential), stores it (0600, atomically) and connects
// with that, so a copied credential is worth one device until the next connect, and its use
// by someone else shows up as "credential reuse" (see docs/security.md).
import { z } from "zod";
import type { Logger } from "../log";
import { callApi, type HttpResult } from "./http";
import {
  readCredential,
  removeCredential,
  type StoredCredential,
  writeCredential,
} from "./credential-store";

export type Authorization =
  | { kind: "bearer"; bearer: string; using: "credential" | "token" }
  | { kind: "retry"; reason: string }
  | { kind: "terminal"; exitCode: number; message: string };

const Issued = z.object({ credential: z.string().min(1), deviceId: z.string().min(1) });

const PAIR_AGAIN =
  "Pair this device again: start wegent-executor --mode local without a token and approve the code on the Devices page (or start it with a new device token).";

export interface DeviceAuthOptions {
  backendUrl: string;
  homeDir: string;
  deviceId: string;
  /** The token the user gave (flag, env or config file), or null (paired device). */
  token: string | null;
  log: Logger;
}

export class DeviceAuth {
  private connectedOnce = false;
  private warnedNoExchange = false;
  /** What the last authorization handed out, to explain a refused connect. */
  private lastUsed: "credential" | "token" | null = null;

  constructor(private readonly options: DeviceAuthOptions) {}

  /** The stored credential if it belongs to this device and backend. */
  stored(): StoredCredential | null {
    const stored = readCredential(this.options.homeDir);
    if (!stored) return null;
    if (stored.deviceId !== this.options.deviceId) return null;
    if (!sameBackend(stored.backendUrl, this.options.backendUrl)) return null;
    return stored;
  }

  /** Stores a credential received by pairing. */
  store(credential: string): void {
    writeCredential(this.options.homeDir, {
      deviceId: this.options.deviceId,
      backendUrl: this.options.backendUrl,
      credential,
    });
  }

  /** Called before every connect: rotate, store, and say what to connect with. */
  async authorize(): Promise<Authorization> {
    const result = await this.rotate();
    if (result.kind === "bearer") this.lastUsed = result.using;
    return result;
  }

  /** The hub accepted us: from now on a refused credential is never papered over. */
  connected(): void {
    this.connectedOnce = true;
  }

  /** A refused WebSocket upgrade (401): what to tell the user, or null for the default. */
  refusedConnect(
    code: string,
    serverMessage: string,
  ): { exitCode: number; message: string } | null {
    if (this.lastUsed !== "credential") return null;
    removeCredential(this.options.homeDir);
    return { exitCode: 1, message: refusalMessage(code, serverMessage) };
  }

  private async rotate(): Promise<Authorization> {
    const { log, token } = this.options;
    const stored = this.stored();
    if (stored) {
      const answer = await this.exchange(stored.credential);
      const issued = this.issued(answer);
      if (issued) return issued;
      if (answer.kind === "unreachable") return { kind: "retry", reason: answer.error };
      if (answer.status === 404) return this.noExchange(stored.credential, "credential");
      if (answer.status === 401 || answer.status === 403) {
        const code = answer.code ?? "invalid_credential";
        removeCredential(this.options.homeDir);
        // At start, a token given on this run (the user is here) may start a fresh family;
        // never after a reuse alarm, and never silently once we were connected.
        if (token !== null && !this.connectedOnce && code !== "credential_reused") {
          log.warn(`the stored device credential was refused (${code}); exchanging the token`);
        } else {
          return {
            kind: "terminal",
            exitCode: 1,
            message: refusalMessage(code, answer.message ?? ""),
          };
        }
      } else {
        return { kind: "retry", reason: `credential exchange answered ${answer.status}` };
      }
    }
    if (token === null) {
      return {
        kind: "terminal",
        exitCode: 1,
        message: `This device has no credential for ${this.options.backendUrl}. ${PAIR_AGAIN}`,
      };
    }
    const answer = await this.exchange(token);
    const issued = this.issued(answer);
    if (issued) return issued;
    if (answer.kind === "unreachable") return { kind: "retry", reason: answer.error };
    // A platform from before device credentials: 404, or 403 `forbidden` for operator tokens.
    if (answer.status === 404 || (answer.status === 403 && answer.code === "forbidden")) {
      return this.noExchange(token, "token");
    }
    if (answer.status === 401 || answer.status === 403) {
      return {
        kind: "terminal",
        exitCode: 1,
        message:
          answer.message ??
          `The backend refused the token (${answer.status}) — create a device token on the Devices page and start wegent-executor again.`,
      };
    }
    return { kind: "retry", reason: `credential exchange answered ${answer.status}` };
  }

  private exchange(bearer: string): Promise<HttpResult> {
    return callApi(
      this.options.backendUrl,
      "POST",
      "/api/devices/credential",
      {
        Authorization: `Bearer ${bearer}`,
        "X-Device-Id": this.options.deviceId,
      },
      {},
    );
  }

  private issued(answer: HttpResult): Authorization | null {
    if (answer.kind !== "answer" || answer.status !== 200) return null;
    const parsed = Issued.safeParse(answer.json);
    if (!parsed.success || parsed.data.deviceId !== this.options.deviceId) return null;
    this.store(parsed.data.credential);
    return { kind: "bearer", bearer: parsed.data.credential, using: "credential" };
  }

  /**
   * Compatibility: a platform without POST /api/devices/credential (404) still takes the
   * token at connect, as before device credentials existed.
   */
  private noExchange(bearer: string, using: "credential" | "token"): Authorization {
    if (!this.warnedNoExchange) {
      this.warnedNoExchange = true;
      this.options.log.warn(
        "this platform does not issue device credentials yet (POST /api/devices/credential is not there); connecting with the token itself",
      );
    }
    return { kind: "bearer", bearer, using };
  }
}

function refusalMessage(code: string, serverMessage: string): string {
  const what =
    code === "credential_reused"
      ? "This device's credential was used twice (credential reuse detected): someone may have copied it, so the platform revoked it."
      : `The platform refused this device's credential (${code}${serverMessage ? `: ${serverMessage}` : ""}).`;
  return `${what} ${PAIR_AGAIN}`;
}

function sameBackend(a: string, b: string): boolean {
  try {
    const norm = (u: string) => {
      const url = new URL(u);
      const scheme = url.protocol.replace(/^ws/, "http");
      return `${scheme}//${url.host}${url.pathname.replace(/\/+$/, "")}`;
    };
    return norm(a) === norm(b);
  } catch {
    return false;
  }
}
