import { app } from "./app";

export { DeviceHub } from "../durable-objects/device-hub";
export { UserHub } from "../durable-objects/user-hub";

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
