// Small JSON-over-HTTP helper for the credential and pairing calls: bounded in time and size,
// and it never throws — every outcome is a value the caller decides on.
import { ApiError } from "@wegent/protocol";

export type HttpResult =
  | { kind: "answer"; status: number; json: unknown; code: string | null; message: string | null }
  | { kind: "unreachable"; error: string };

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
    const res = await fetch(apiUrl(backendUrl, path), {
      method,
      headers: {
        ...headers,
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: "error",
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = (await res.text()).slice(0, 64 * 1024);
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
