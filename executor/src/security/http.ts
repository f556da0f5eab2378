// Small JSON-over-HTTP helper for the credential and pairing calls: bounded in time and size,
// and it never throws — every outcome is a value the caller decides on.
//
// It speaks node:http(s), not the global fetch: Node loads fetch (undici and its WebAssembly
// HTTP parser) on first use, which costs the idle executor ~15 MiB of resident memory for one
// small request at every connect. node:http is loaded anyway (the WebSocket rides on it).
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { ApiError } from "@wegent/protocol";

export type HttpResult =
  | { kind: "answer"; status: number; json: unknown; code: string | null; message: string | null }
  | { kind: "unreachable"; error: string };

/** The answer's first 64K characters are read; UTF-8 needs at most 4 bytes for each. */
const MAX_TEXT_CHARS = 64 * 1024;
const MAX_BODY_BYTES = 4 * MAX_TEXT_CHARS;

/** `ws(s)://host/base` or `http(s)://host/base` + `/api/...` → an http(s) URL. */
export function apiUrl(backendUrl: string, path: string): string {
  const url = new URL(backendUrl);
  if (url.protocol === "ws:") url.protocol = "http:";
  else if (url.protocol === "wss:") url.protocol = "https:";
  url.pathname = url.pathname.replace(/\/+$/, "") + path;
  url.search = "";
  url.hash = "";
  return url.toString();
}

export async function callApi(
  backendUrl: string,
  method: "GET" | "POST",
  path: string,
  headers: Record<string, string>,
  body?: unknown,
  timeoutMs = 15_000,
): Promise<HttpResult> {
  try {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), "utf8");
    const res = await send(new URL(apiUrl(backendUrl, path)), {
      method,
      headers: {
        Accept: "*/*",
        ...headers,
        ...(payload === undefined
          ? {}
          : { "Content-Type": "application/json", "Content-Length": String(payload.length) }),
      },
      payload,
      timeoutMs,
    });
    const text = res.text.slice(0, MAX_TEXT_CHARS);
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      // Not JSON (a proxy's error page): the status still says enough.
    }
    const error = ApiError.safeParse(json);
    return {
      kind: "answer",
      status: res.status,
      json,
      code: error.success ? error.data.error.code : null,
      message: error.success ? error.data.error.message.slice(0, 500) : null,
    };
  } catch (error) {
    return { kind: "unreachable", error: error instanceof Error ? error.message : String(error) };
  }
}

/** One request, no redirects followed (a redirect is an error), the whole exchange timed. */
function send(
  url: URL,
  options: {
    method: string;
    headers: Record<string, string>;
    payload: Buffer | undefined;
    timeoutMs: number;
  },
): Promise<{ status: number; text: string }> {
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return Promise.reject(new Error(`unsupported protocol ${url.protocol}`));
  }
  if (url.username !== "" || url.password !== "") {
    return Promise.reject(new Error("the backend URL must not include credentials"));
  }
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method, headers: options.headers });
    const timer = setTimeout(() => {
      req.destroy(new Error(`no answer within ${Math.round(options.timeoutMs / 1000)} s`));
    }, options.timeoutMs);
    timer.unref();
    const fail = (error: Error): void => {
      clearTimeout(timer);
      reject(error);
    };
    req.on("error", fail);
    req.on("response", (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400) {
        res.resume();
        req.destroy();
        fail(new Error(`unexpected redirect (${status})`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        if (size >= MAX_BODY_BYTES) return;
        chunks.push(chunk);
        size += chunk.length;
        // Enough for the characters we read: the rest is never looked at.
        if (size >= MAX_BODY_BYTES) {
          clearTimeout(timer);
          resolve({ status, text: Buffer.concat(chunks).toString("utf8") });
          req.destroy();
        }
      });
      res.on("error", fail);
      res.on("close", () => {
        if (!res.complete) fail(new Error("the answer was cut off"));
      });
      res.on("end", () => {
        clearTimeout(timer);
        resolve({ status, text: Buffer.concat(chunks).toString("utf8") });
      });
    });
    req.end(options.payload);
  });
}
