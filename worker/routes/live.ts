import { Hono } from "hono";
import { getCookie } from "hono/cookie";
import {
  type AppEnv,
  bearerToken,
  SESSION_COOKIE,
  verifyApiToken,
  verifySession,
} from "../auth/identity";
import { ApiError } from "../lib/errors";
import { LIVE_HEADERS, userHub } from "../../durable-objects/contract";
import { isWebSocketUpgrade } from "../../edge/websocket";

export const liveRoutes = new Hono<AppEnv>();

/** The browser's live channel: a WebSocket to the user's UserHub (session cookie or token). */
liveRoutes.get("/", async (c) => {
  if (!isWebSocketUpgrade(c.req.raw)) {
    throw new ApiError(426, "upgrade_required", "Connect with a WebSocket upgrade.");
  }
  let userId: string;
  let session = "token";
  const bearer = bearerToken(c.req.header("Authorization"));
  if (bearer) {
    const verified = await verifyApiToken(c.env, bearer);
    if (verified.scope !== "user")
      throw new ApiError(403, "forbidden", "Operator tokens have no live channel.");
    userId = verified.user.id;
  } else {
    const verified = await verifySession(c.env, getCookie(c, SESSION_COOKIE));
    if (!verified) throw new ApiError(401, "unauthorized", "Sign in to open the live channel.");
    userId = verified.user.id;
    session = verified.sessionId;
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
  headers.set(LIVE_HEADERS.session, session);
  return userHub(c.env, userId).fetch(new Request(url, { headers }));
});
