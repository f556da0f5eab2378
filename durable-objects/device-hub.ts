import { DurableObject } from "cloudflare:workers";
import type { Env } from "../worker/env";

export class DeviceHub extends DurableObject<Env> {
  async revokeToken(_tokenId: string): Promise<boolean> {
    return false;
  }
}
