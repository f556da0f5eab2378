import type { MiddlewareHandler } from "hono";
import { SECURITY_HEADERS } from "@wegent/protocol";
import type { AppEnv } from "./identity";
import { verifyJwtSignature } from "./crypto";
import { bearerToken, CREDENTIAL_PREFIX, tokenScopeError } from "./identity";
import { ApiError } from "../lib/errors";
import { log } from "../../edge/log";

export const securityHeaders: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  // A WebSocket handshake's answer carries the socket and cannot be copied.
  if (c.res.status === 101) return;
  const res = new Response(c.res.body, c.res);
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.headers.set(name, value);
  c.res = res;
};

// Routes an executor calls with its own secret, never a cookie.
const DEVICE_ROUTES = new Set(["/api/devices/connect", "/api/devices/credential"]);
const isPairingStartOrPoll = (path: string) => /^\/api\/pairings\/[^/]+$/.test(path);

/**
 * Device credentials and device/cloud tokens open exactly two routes; everywhere else they are
 * 403 `token_scope` before any route runs (the signature and scope claim suffice: no D1).
 */
export const scopedTokens: MiddlewareHandler<AppEnv> = async (c, next) => {
  const path = new URL(c.req.url).pathname;
  if (DEVICE_ROUTES.has(path) || isPairingStartOrPoll(path)) return next();
  const bearer = bearerToken(c.req.header("Authorization"));
  if (bearer?.startsWith(CREDENTIAL_PREFIX)) throw tokenScopeError();
  if (bearer) {
    const claims = await verifyJwtSignature(bearer, c.env.JWT_SECRET);
    if (claims?.typ === "api" && (claims.scope === "device" || claims.scope === "cloud")) {
      throw tokenScopeError();
    }
  }
  return next();
};

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * JSON everywhere, and the skill upload's zip: neither type is one a cross-site form can send
 * (both need a CORS preflight, which this API never grants).
 */
function allowedBodyType(method: string, path: string, type: string | undefined): boolean {
  if (type === "application/json") return true;
  return method === "POST" && path === "/api/skills" && type === "application/zip";
}

/**
 * Browser requests that ride on the cookie (or set it: sign-in, sign-up) must come from our own
 * pages: JSON bodies only (a cross-site form can send neither that type nor our Origin) and a
 * same-origin `Origin` or `Sec-Fetch-Site`. The live upgrade is checked the same way. Requests
 * with `Authorization: Bearer` carry no ambient authority and are exempt.
 */
export const sameOriginOnly: MiddlewareHandler<AppEnv> = async (c, next) => {
  const url = new URL(c.req.url);
  const isLiveUpgrade =
    url.pathname === "/api/live" && c.req.header("Upgrade")?.toLowerCase() === "websocket";
  const unsafe = UNSAFE.has(c.req.method);
  if (!unsafe && !isLiveUpgrade) return next();
  if (bearerToken(c.req.header("Authorization"))) return next();
  if (url.pathname === "/api/pairings/start") return next();
  const type = (c.req.header("Content-Type") ?? "").split(";")[0]?.trim().toLowerCase();
  const origin = c.req.header("Origin");
  const sameOrigin =
    (origin !== undefined && origin === url.origin) ||
    (origin === undefined && c.req.header("Sec-Fetch-Site") === "same-origin");
  if ((unsafe && !allowedBodyType(c.req.method, url.pathname, type)) || !sameOrigin) {
    log(
      { event: "http.refused", code: "cross_site", method: c.req.method, path: url.pathname },
      "warn",
    );
    throw new ApiError(
      403,
      "cross_site",
      "Refused: this request did not come from this site's own pages (send Content-Type: application/json from the same origin, or use an API token).",
    );
  }
  return next();
};
