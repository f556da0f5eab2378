import { SELF } from "cloudflare:test";
import { expect } from "vitest";

const BASE = "http://wegent.test";

export interface Call {
  status: number;
  body: unknown;
  headers: Headers;
}

/** One request to the real Worker; JSON in, JSON out. */
export async function call(
  method: string,
  path: string,
  options: {
    body?: unknown;
    rawBody?: string;
    cookie?: string;
    token?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<Call> {
  // What our own pages send: JSON on every write, from our own origin.
  const headers: Record<string, string> = { Origin: BASE };
  if (method !== "GET" || options.body !== undefined || options.rawBody !== undefined) {
    headers["Content-Type"] = "application/json";
  }
  Object.assign(headers, options.headers ?? {});
  if (options.cookie) headers.Cookie = options.cookie;
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  const response = await SELF.fetch(`${BASE}${path}`, {
    method,
    headers,
    body:
      options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body, headers: response.headers };
}

/** Asserts the JSON error shape and returns its code. */
export function expectError(res: Call, status: number, code?: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  const body = res.body as { error?: { code?: unknown; message?: unknown } };
  expect(typeof body.error?.code).toBe("string");
  expect(typeof body.error?.message).toBe("string");
  expect((body.error?.message as string).length).toBeGreaterThan(0);
  if (code) expect(body.error?.code).toBe(code);
}

export interface TestUser {
  id: string;
  username: string;
  cookie: string;
}

let counter = 0;
export function uniqueName(prefix = "user"): string {
  counter += 1;
  return `${prefix}${Date.now().toString(36)}${counter}`;
}

export async function signUp(
  username = uniqueName(),
  password = "correct horse battery",
): Promise<TestUser> {
  // Sign-ups are limited per client address: each test user comes from its own.
  counter += 1;
  const res = await call("POST", "/api/auth/signup", {
    body: { username, password },
    headers: { "CF-Connecting-IP": `198.18.${(counter >> 8) & 255}.${counter & 255}` },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const setCookie = res.headers.get("Set-Cookie") ?? "";
  const cookie = setCookie.split(";")[0] ?? "";
  expect(cookie).toMatch(/^wegent_session=/);
  const user = (res.body as { user: { id: string } }).user;
  return { id: user.id, username, cookie };
}

export async function createToken(
  user: TestUser,
  body: Record<string, unknown> = { name: "laptop" },
): Promise<{ id: string; token: string; expiresAt: string }> {
  const res = await call("POST", "/api/tokens", { cookie: user.cookie, body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; token: string; expiresAt: string };
}
