// A copied device credential (a stolen executor home): the thief rotates with it, the real
// executor's next connect presents a retired credential, the platform revokes the family and
// the executor stops telling the user to pair again.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { api, startExecutor, until } from "../../e2e/harness";
import { startProxy } from "../lib/proxy";
import { expectThat, type Scenario } from "./context";

async function exchange(origin: string, bearer: string, deviceId: string) {
  const res = await fetch(`${origin}/api/devices/credential`, {
    method: "POST",
    headers: {
      Authorization: `Bearer ${bearer}`,
      "X-Device-Id": deviceId,
      "Content-Type": "application/json",
    },
    body: "{}",
  });
  const body = (await res.json().catch(() => null)) as {
    credential?: string;
    error?: { code: string };
  } | null;
  return { status: res.status, credential: body?.credential ?? null, code: body?.error?.code };
}

export const copiedCredential: Scenario = {
  name: "a copied device credential is caught at the next connect",
  async run(ctx) {
    const user = await ctx.newUser();
    const proxy = await startProxy(ctx.platform.port);
    ctx.cleanups.push(() => proxy.close());
    const ex = startExecutor({ origin: proxy.origin, token: user.token, modelUrl: ctx.fake.url });
    ctx.executors.push(ex);
    await ex.waitFor("registered");
    const file = join(ex.home, "credential.json");
    if (!existsSync(file)) return "not applicable: this platform issues no device credentials";
    const stolen = (JSON.parse(readFileSync(file, "utf8")) as { credential: string }).credential;
    // The thief rotates twice: its credential becomes current, the executor's is retired.
    const first = await exchange(ctx.platform.origin, stolen, ex.deviceId);
    expectThat(
      first.status === 200 && first.credential !== null,
      `thief's exchange: ${first.status}`,
    );
    const second = await exchange(ctx.platform.origin, first.credential, ex.deviceId);
    expectThat(second.status === 200, `thief's second exchange: ${second.status}`);
    const cutAt = Date.now();
    proxy.cut();
    const code = await Promise.race([
      ex.exited(),
      new Promise((resolve) => setTimeout(() => resolve("running"), 20_000)),
    ]);
    expectThat(
      code === 1,
      `the executor did not stop (exit ${String(code)}): ${ex.output().slice(-800)}`,
    );
    expectThat(/credential reuse detected/.test(ex.output()), "the executor did not say why");
    expectThat(/Pair this device again/.test(ex.output()), "the executor did not say what to do");
    expectThat(!existsSync(file), "the refused credential is still on disk");
    const thief = await exchange(ctx.platform.origin, second.credential ?? "", ex.deviceId);
    expectThat(thief.status === 401, `the thief's newest credential still works (${thief.status})`);
    const device = await until(
      async () => {
        const res = await api<{
          devices: { id: string; securityEvent?: { kind: string } | null }[];
        }>(ctx.platform.origin, "GET", "/api/devices", { cookie: user.session.cookie });
        const found = res.body.devices.find((d) => d.id === ex.deviceId);
        return found?.securityEvent?.kind === "credential_reuse" ? found : undefined;
      },
      5_000,
      "the device to show credential_reuse",
    );
    return `executor stopped ${((Date.now() - cutAt) / 1000).toFixed(1)} s after its socket was cut ("credential reuse detected … Pair this device again"); thief's credential revoked; device shows ${device.securityEvent?.kind}`;
  },
};
