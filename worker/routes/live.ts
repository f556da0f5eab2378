import { Hono } from "hono";
import { getCookie } from "hono/cookie";
import {
  type AppEnv,
  bearerToken,
  CREDENTIAL_PREFIX,
  tokenScopeError,
  SESSION_COOKIE,
  verifyApiToken,
  verifySession,
} from "../auth/identity";
import { ApiError } from "../lib/errors";
import { LIVE_HEADERS, userHub } from "../../durable-objects/contract";
import { isWebSocketUpgrade } from "../../edge/websocket";

export const liveRoutes = new Hono<AppEnv>();

/** The tag of live sockets opened with a session or a token. */
export function liveTag(
  via: { kind: "session"; sessionId: string } | { kind: "token"; tokenId: string },
): string {
  return via.kind === "session" ? `s:${via.sessionId}` : `t:${via.tokenId}`;
}

/** The browser's live channel: a WebSocket to the user's UserHub (session cookie or token). */
liveRoutes.get("/", async (c) => {
  if (!isWebSocketUpgrade(c.req.raw)) {
    throw new ApiError(426, "upgrade_required", "Connect with a WebSocket upgrade.");
  }
  let userId: string;
  let tag: string;
  let expiresAt: string;
  const bearer = bearerToken(c.req.header("Authorization"));
  if (bearer) {
    if (bearer.startsWith(CREDENTIAL_PREFIX)) throw tokenScopeError();
    const verified = await verifyApiToken(c.env, bearer);
    if (verified.scope !== "user") throw tokenScopeError();
    userId = verified.user.id;
    tag = liveTag({ kind: "token", tokenId: verified.tokenId });
    expiresAt = verified.expiresAt;
  } else {
    const verified = await verifySession(c.env, getCookie(c, SESSION_COOKIE));
    if (!verified) throw new ApiError(401, "unauthorized", "Sign in to open the live channel.");
    userId = verified.user.id;
    tag = liveTag({ kind: "session", sessionId: verified.sessionId });
    expiresAt = verified.expiresAt;
  }
  const url = new URL("https://hub/live");
  const after = c.req.query("after");
  if (after !== undefined) {
    if (!/^\d{1,15}$/.test(after))
      throw new ApiError(400, "invalid_query", "after must be a whole number.");
    url.searchParams.set("after", after);
  }
  const headers = new Headers({ Upgrade: "websocket" });
  headers.set(LIVE_HEADERS.user, userId);
  // The hub tags the socket with the credential that opened it and closes it when that is
  // revoked (sign-out, token revoked) or expires.
  headers.set(LIVE_HEADERS.session, tag);
  headers.set(LIVE_HEADERS.expires, expiresAt);
  return userHub(c.env, userId).fetch(new Request(url, { headers }));
});
