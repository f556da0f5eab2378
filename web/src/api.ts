import { ApiError } from "@wegent/protocol";
import type { z } from "zod";
import { newTraceparent } from "./traceparent";

/** A failed API call, carrying the server's own words so the UI can show them as they are. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Seconds from Retry-After, when the server asked us to wait. */
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }
}

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** Called when any request answers 401 after sign-in, so the app can show the sign-in screen. */
let onSignedOut: (() => void) | null = null;
export function setSignedOutHandler(handler: (() => void) | null): void {
  onSignedOut = handler;
}

/**
 * Calls the API on the same origin (the session cookie rides along) and validates the answer
 * with `schema`: the server is being built alongside us, so nothing is trusted by shape alone.
 */
export async function api<S extends z.ZodType>(
  method: Method,
  path: string,
  schema: S,
  body?: unknown,
): Promise<z.infer<S>> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      credentials: "same-origin",
      // Every write is JSON from this origin: the server refuses anything else (cross_site).
      // Each request is the root of its own trace (web/src/traceparent.ts).
      headers: {
        traceparent: newTraceparent(),
        ...(method === "GET" ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiFailure(0, "network_error", "Could not reach the server. Check your connection.");
  }
  const json: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const parsed = ApiError.safeParse(json);
    const retry = Number(response.headers.get("retry-after"));
    const failure = parsed.success
      ? new ApiFailure(
          response.status,
          parsed.data.error.code,
          parsed.data.error.message,
          Number.isFinite(retry) && retry > 0 ? retry : null,
        )
      : new ApiFailure(response.status, "http_error", `The server answered ${response.status}.`);
    if (response.status === 401 && path !== "/api/auth/login" && path !== "/api/auth/me") {
      onSignedOut?.();
    }
    throw failure;
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new ApiFailure(response.status, "bad_response", `Unexpected answer from ${path}.`);
  }
  return parsed.data;
}

/** The message to show for any failure, API or not. */
export function errorText(error: unknown): string {
  if (error instanceof ApiFailure) {
    return error.retryAfter !== null
      ? `${error.message} Try again in ${error.retryAfter} s.`
      : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
