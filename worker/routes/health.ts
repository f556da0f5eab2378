import { Hono } from "hono";
import type { AppEnv } from "../auth/identity";

export const healthRoutes = new Hono<AppEnv>();

healthRoutes.get("/", async (c) => {
  // One cheap query proves the D1 binding answers, not just that the Worker runs.
  const started = Date.now();
  await c.env.DB.prepare("SELECT 1").first();
  return c.json({ ok: true, d1Ms: Date.now() - started, time: new Date().toISOString() });
});
