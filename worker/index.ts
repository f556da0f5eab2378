import { app } from "./app";
import { cleanupIdleWorkspaces } from "./workspaces/scheduled";
import { traced } from "./telemetry/instrument";

export { DeviceHub } from "../durable-objects/device-hub";
export { UserHub } from "../durable-objects/user-hub";

export default traced({
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
  // Hourly: idle task workspaces are archived (verified) and removed from their devices.
  scheduled: (_controller, env, ctx) => ctx.waitUntil(cleanupIdleWorkspaces(env)),
});
