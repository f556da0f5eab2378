import { type IncomingMessage, request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { ArchiveInfo } from "@wegent/protocol";

// The executor's side of the archive routes: `<backend>/api/devices/archives/:taskId/...`,
// authenticated with the short-lived grant the hub sent with the request.

export const PART_SIZE = 8 * 1024 * 1024;
const ATTEMPTS = 5;

export class ArchiveHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ArchiveClientOptions {
  backendUrl: string;
  grant: string;
  taskId: string;
  /** Waits between attempts of a part (tests make it short). */
  retryDelayMs?: number;
  fetch?: typeof fetch;
}

export class ArchiveClient {
  private readonly base: string;
  private readonly doFetch: typeof fetch;

  constructor(private readonly options: ArchiveClientOptions) {
    const url = new URL(options.backendUrl);
    url.pathname = url.pathname.replace(/\/+$/, "") + `/api/devices/archives/${options.taskId}`;
    this.base = url.toString();
    this.doFetch = options.fetch ?? fetch;
  }

  private async call(method: string, path: string, body?: string | Uint8Array, json = true) {
    const response = await this.doFetch(this.base + path, {
      method,
      headers: {
        Authorization: `Bearer ${this.options.grant}`,
        ...(json && body !== undefined ? { "Content-Type": "application/json" } : {}),
      },
      body,
    });
    if (!response.ok) {
      let code = "http_error";
      let message = `HTTP ${response.status}`;
      try {
        const parsed = (await response.json()) as { error?: { code?: string; message?: string } };
        code = parsed.error?.code ?? code;
        message = parsed.error?.message ?? message;
      } catch {
        // not JSON
      }
      throw new ArchiveHttpError(response.status, code, message);
    }
    return response;
  }

  async start(): Promise<{ uploadId: string; nonce: string }> {
    const res = await this.call("POST", "/uploads", "{}");
    return (await res.json()) as { uploadId: string; nonce: string };
  }

  /** Uploads one part, retrying a dropped connection or a 5xx (R2 keeps the parts it has). */
  async part(upload: { uploadId: string; nonce: string }, partNumber: number, body: Buffer) {
    const path = `/uploads/${encodeURIComponent(upload.uploadId)}/parts/${partNumber}?nonce=${upload.nonce}`;
    let lastError: unknown;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      try {
        return JSON.parse(await this.put(path, body)) as { partNumber: number; etag: string };
      } catch (error) {
        if (error instanceof ArchiveHttpError && error.status < 500) throw error;
        lastError = error;
        await new Promise((r) => setTimeout(r, (this.options.retryDelayMs ?? 500) * 2 ** attempt));
      }
    }
    throw lastError;
  }

  /** PUT without fetch: undici copies a body it is given; node:http sends the part in place. */
  private async put(path: string, body: Buffer): Promise<string> {
    if (this.options.fetch) {
      return this.call("PUT", path, new Uint8Array(body), false).then((r) => r.text());
    }
    const res = await this.raw("PUT", path, body);
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  }

  /** One node:http(s) request; a non-2xx answer becomes an ArchiveHttpError. */
  private raw(method: string, path: string, body?: Buffer): Promise<IncomingMessage> {
    const url = new URL(this.base + path);
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    const headers: Record<string, string> = { Authorization: `Bearer ${this.options.grant}` };
    if (body) {
      headers["Content-Length"] = String(body.length);
      headers["Content-Type"] = "application/octet-stream";
    }
    return new Promise((resolve, reject) => {
      const req = send(url, { method, headers }, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) return resolve(res);
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          let code = "http_error";
          let message = `HTTP ${status}`;
          try {
            const text = Buffer.concat(chunks).toString("utf8");
            const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
            code = parsed.error?.code ?? code;
            message = parsed.error?.message ?? message;
          } catch {
            // not JSON
          }
          reject(new ArchiveHttpError(status, code, message));
        });
      });
      req.on("error", reject);
      req.end(body);
    });
  }

  async complete(
    upload: { uploadId: string; nonce: string },
    parts: { partNumber: number; etag: string }[],
    summary: { sha256: string; size: number; files: number },
  ): Promise<ArchiveInfo> {
    const path = `/uploads/${encodeURIComponent(upload.uploadId)}/complete?nonce=${upload.nonce}`;
    const res = await this.call("POST", path, JSON.stringify({ parts, ...summary }));
    return (await res.json()) as ArchiveInfo;
  }

  async abort(upload: { uploadId: string; nonce: string }): Promise<void> {
    const path = `/uploads/${encodeURIComponent(upload.uploadId)}?nonce=${upload.nonce}`;
    await this.call("DELETE", path).catch(() => undefined);
  }

  /** The archive as a Node stream (node:http: web streams cost a promise per chunk). */
  async download(): Promise<AsyncIterable<Buffer> & NodeJS.ReadableStream> {
    return this.raw("GET", "");
  }

  /** Tells the Worker the workspace left this device (its archive is the only copy now). */
  async removed(): Promise<void> {
    await this.call("POST", "/removed", "{}");
  }
}
