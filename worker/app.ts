import { Hono } from "hono";
import type { AppEnv } from "./auth/identity";
import { ApiError, errorBody } from "./lib/errors";
import { log } from "../edge/log";
import { d1Session } from "./lib/d1-session";
import { authRoutes } from "./routes/auth";
import { commandRoutes } from "./routes/commands";
import { deviceRoutes } from "./routes/devices";
import { liveRoutes } from "./routes/live";
import { taskRoutes } from "./routes/tasks";
import { taskInputRoutes } from "./routes/task-input";
import { presetRoutes } from "./routes/presets";
import { settingsRoutes } from "./routes/settings";
import { healthRoutes } from "./routes/health";
import { tokenRoutes } from "./routes/tokens";
import { pairingRoutes } from "./routes/pairings";
import { sameOriginOnly, scopedTokens, securityHeaders } from "./auth/guards";
import { skillBundleRoutes, skillRoutes } from "./routes/skills";
import { mcpServerRoutes } from "./routes/mcp-servers";
import { runtimeSettingsRoutes } from "./routes/runtime-settings";
import { deviceSlotRoutes } from "./routes/device-slots";
import { archiveRoutes } from "./routes/archives";
import { workspaceDeviceRoutes, workspaceTaskRoutes } from "./routes/workspaces";
import { accountAuditRoutes } from "./routes/account-audit";
import { pushRoutes } from "./routes/push";
import { attentionRoutes, taskSeenRoutes } from "./routes/attention";

export const app = new Hono<AppEnv>();

app.use("*", securityHeaders);
app.use("/api/*", sameOriginOnly);
app.use("/api/*", scopedTokens);
app.use("/api/*", d1Session());
app.route("/api/health", healthRoutes);
app.route("/api/auth", authRoutes);
app.route("/api/tokens", tokenRoutes);
app.route("/api/devices", commandRoutes);
// Workspace archives (before the device routes: the executor authenticates with a grant).
app.route("/api/devices/archives", archiveRoutes);
app.route("/api/devices", workspaceDeviceRoutes);
app.route("/api/tasks", workspaceTaskRoutes);
app.route("/api/devices", deviceRoutes);
app.route("/api/pairings", pairingRoutes);
app.route("/api/devices", deviceSlotRoutes);
app.route("/api/live", liveRoutes);
app.route("/api/tasks", taskInputRoutes);
app.route("/api/tasks", taskSeenRoutes);
app.route("/api/tasks", taskRoutes);
app.route("/api/presets", presetRoutes);
// The signed device download goes first: it answers without a user session.
app.route("/api/skills", skillBundleRoutes);
app.route("/api/skills", skillRoutes);
app.route("/api/mcp-servers", mcpServerRoutes);
app.route("/api/settings/runtime", runtimeSettingsRoutes);
app.route("/api/settings", settingsRoutes);
app.route("/api/audit", accountAuditRoutes);
app.route("/api/push", pushRoutes);
app.route("/api/attention", attentionRoutes);

app.all("/api/*", (c) =>
  c.json(
    errorBody("not_found", `No API route ${c.req.method} ${new URL(c.req.url).pathname}`),
    404,
  ),
);

// Anything else is the SPA (in production the assets layer answers before the Worker runs).
app.all("*", (c) => c.env.ASSETS.fetch(c.req.raw));

app.onError((error, c) => {
  if (error instanceof ApiError) {
    return c.json(errorBody(error.code, error.message), error.status, error.headers);
  }
  log(
    {
      event: "http.error",
      method: c.req.method,
      path: new URL(c.req.url).pathname,
      message: String(error),
    },
    "error",
  );
  return c.json(errorBody("internal_error", "Something went wrong on our side."), 500);
});
