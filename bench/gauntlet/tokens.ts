// A revoked token's socket is dropped at once, and the token cannot reconnect.
import { CloseCode } from "@wegent/protocol";
import { api } from "../../e2e/harness";
import { ProtocolDevice } from "../lib/device";
import { expectThat, type Scenario } from "./context";

export const revokedToken: Scenario = {
  name: "revoked token's socket dropped (≤ 5 s)",
  async run(ctx) {
    const origin = ctx.platform.origin;
    const user = await ctx.newUser();
    const device = new ProtocolDevice({ origin, token: user.token });
    await device.connect();
    await device.register();
    const started = performance.now();
    const res = await api(origin, "DELETE", `/api/tokens/${user.tokenId}`, {
      cookie: user.session.cookie,
    });
    expectThat(res.status === 200, `revoke answered ${res.status}`);
    const code = await device.closed(5_000);
    const after = (device.closedAt ?? performance.now()) - started;
    expectThat(
      code === CloseCode.tokenRevoked,
      `socket close code ${code}, expected 4002 within 5 s`,
    );
    const again = new ProtocolDevice({ origin, token: user.token, deviceId: device.deviceId });
    let refused = "";
    try {
      await again.connect();
      again.close();
    } catch (error) {
      refused = String(error);
    }
    expectThat(
      refused.includes("401"),
      `reconnect with the revoked token: ${refused || "accepted"}`,
    );
    return `closed with 4002 ${after.toFixed(0)} ms after DELETE; reconnect refused 401`;
  },
};
