import type { DeviceHub } from "../durable-objects/device-hub";
import type { UserHub } from "../durable-objects/user-hub";

export interface Env {
  DB: D1Database;
  ARCHIVES: R2Bucket;
  ASSETS: Fetcher;
  DEVICE_HUB: DurableObjectNamespace<DeviceHub>;
  USER_HUB: DurableObjectNamespace<UserHub>;
  /** HMAC key for session and API-token JWTs. A secret. */
  JWT_SECRET: string;
  DEVICE_GRACE_SECONDS: string;
  PING_TIMEOUT_SECONDS: string;
  QUEUE_TIMEOUT_SECONDS: string;
  DISPATCH_TIMEOUT_SECONDS: string;
}

declare global {
  // Lets `env` from cloudflare:test / cloudflare:workers know our bindings.
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Cloudflare {
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    interface Env extends WegentEnv {}
  }
}
type WegentEnv = Env;
