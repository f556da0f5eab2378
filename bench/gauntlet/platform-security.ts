// Platform-side attacks of issue #10, each tried the way an attacker would against a real
// `wrangler dev`: a device credential on other routes and devices, credential reuse after
// rotation, a revoked token's live socket, cross-site writes and upgrades, 40 parallel wrong
// sign-ins, and 3 MB multi-byte frames and replies.
import WebSocket from "ws";
import { api } from "../../e2e/harness";
import { ProtocolDevice } from "../lib/device";
import type { BenchUser } from "../lib/platform";
import { createTask, expectThat, type Scenario, taskDetail } from "./context";

async function deviceToken(origin: string, user: BenchUser): Promise<string> {
  const res = await api<{ token: string }>(origin, "POST", "/api/tokens", {
    cookie: user.session.cookie,
    body: { name: "gauntlet device", scope: "device" },
  });
  expectThat(res.status === 201, `device token: ${res.status}`);
  return res.body.token;
}

async function exchange(origin: string, secret: string, deviceId: string) {
  const res = await fetch(`${origin}/api/devices/credential`, {
    method: "POST",
    headers: { Authorization: `Bearer ${secret}`, "X-Device-Id": deviceId },
  });
  const body = (await res.json()) as { credential?: string; error?: { code: string } };
  return { status: res.status, credential: body.credential ?? "", code: body.error?.code };
}

async function refusedConnect(origin: string, secret: string, deviceId: string) {
  const device = new ProtocolDevice({ origin, token: secret, deviceId });
  try {
    await device.connect(5_000);
    device.close();
    return "accepted";
  } catch (error) {
    return String(error);
  }
}

export const credentialScope: Scenario = {
  name: "device credential used on other routes and for other devices",
  async run(ctx) {
    const origin = ctx.platform.origin;
    const user = await ctx.newUser();
    const token = await deviceToken(origin, user);
    const deviceId = `gauntlet${Date.now().toString(36)}a`;
    const ex = await exchange(origin, token, deviceId);
    expectThat(ex.status === 200, `exchange answered ${ex.status}`);
    const wrong: string[] = [];
    const routes: [string, string, unknown?][] = [
      ["GET", "/api/tasks"],
      ["POST", "/api/tasks", { message: "curl evil | sh", target: { deviceId } }],
      ["GET", "/api/devices"],
      ["GET", "/api/auth/me"],
      ["POST", "/api/tokens", { name: "more", scope: "user" }],
      ["GET", "/api/tokens"],
      ["POST", "/api/pairings", { code: "ABCD-EFGH" }],
    ];
    let probes = 0;
    for (const secret of [token, ex.credential]) {
      for (const [method, path, body] of routes) {
        probes += 1;
        const res = await api<{ error?: { code: string } }>(origin, method, path, {
          token: secret,
          body,
        });
        if (res.status !== 403 || res.body.error?.code !== "token_scope")
          wrong.push(`${method} ${path} → ${res.status} ${res.body.error?.code ?? ""}`);
      }
    }
    const other = `${deviceId}b`;
    for (const secret of [token, ex.credential]) {
      const res = await exchange(origin, secret, other);
      if (res.status !== 403 || res.code !== "token_bound")
        wrong.push(`exchange for another device → ${res.status} ${res.code}`);
      const connect = await refusedConnect(origin, secret, other);
      if (!connect.includes("403")) wrong.push(`connect another device → ${connect}`);
    }
    expectThat(wrong.length === 0, wrong.join("; "));
    return `${probes} API calls → 403 token_scope; other device id → 403 token_bound (exchange and connect)`;
  },
};

export const credentialReuse: Scenario = {
  name: "credential reuse after rotation",
  async run(ctx) {
    const origin = ctx.platform.origin;
    const user = await ctx.newUser();
    const token = await deviceToken(origin, user);
    const deviceId = `gauntlet${Date.now().toString(36)}r`;
    const c1 = (await exchange(origin, token, deviceId)).credential;
    const c2 = (await exchange(origin, c1, deviceId)).credential;
    const device = new ProtocolDevice({ origin, token: c2, deviceId });
    await device.connect();
    await device.register();
    ctx.cleanups.push(() => device.close());
    // The thief's copy of the rotated-out c1:
    const started = performance.now();
    const replay = await exchange(origin, c1, deviceId);
    expectThat(
      replay.status === 401 && replay.code === "credential_reused",
      `replay of c1: ${replay.status} ${replay.code}`,
    );
    const code = await device.closed(3_000);
    const ms = performance.now() - started;
    expectThat(code !== null, "the device's socket stayed open after reuse");
    const after = await exchange(origin, c2, deviceId);
    expectThat(after.code === "credential_revoked", `c2 after reuse: ${after.code}`);
    const devices = await api<{ devices: { id: string; securityEvent?: { kind: string } }[] }>(
      origin,
      "GET",
      "/api/devices",
      { cookie: user.session.cookie },
    );
    const event = devices.body.devices.find((d) => d.id === deviceId)?.securityEvent;
    expectThat(event?.kind === "credential_reuse", `device security event: ${String(event)}`);
    return `replay → 401 credential_reused, socket closed (${code}) in ${ms.toFixed(0)} ms, family revoked, device shows credential_reuse`;
  },
};

/**
 * Resolves once the server has closed the socket (its close frame arrived: `ws` then leaves
 * OPEN at once, while its "close" event waits for the TCP teardown), or null after `ms`.
 */
async function serverClosed(ws: WebSocket, ms: number): Promise<number | null> {
  const started = performance.now();
  while (performance.now() - started < ms) {
    if (ws.readyState !== WebSocket.OPEN) return performance.now() - started;
    await new Promise((r) => setTimeout(r, 10));
  }
  return null;
}

function openLiveWith(origin: string, headers: Record<string, string>) {
  return new Promise<{ ws: WebSocket | null; status: number }>((resolve) => {
    const ws = new WebSocket(`${origin.replace(/^http/, "ws")}/api/live`, { headers });
    ws.once("open", () => resolve({ ws, status: 101 }));
    ws.once("unexpected-response", (_req, res) =>
      resolve({ ws: null, status: res.statusCode ?? 0 }),
    );
    ws.once("error", () => resolve({ ws: null, status: 0 }));
  });
}

export const revokedTokenLive: Scenario = {
  name: "revoked token's live socket closed (≤ 1 s)",
  async run(ctx) {
    const origin = ctx.platform.origin;
    const user = await ctx.newUser();
    const live = await openLiveWith(origin, { Authorization: `Bearer ${user.token}` });
    expectThat(live.ws !== null, `live with a user token: ${live.status}`);
    const started = performance.now();
    const res = await api(origin, "DELETE", `/api/tokens/${user.tokenId}`, {
      cookie: user.session.cookie,
    });
    expectThat(res.status === 200, `revoke: ${res.status}`);
    const closed = await serverClosed(live.ws!, 1_000);
    const ms = performance.now() - started;
    expectThat(closed !== null, "the live socket was still open 1 s after the revoke");
    // Sign-out closes the session's live socket too.
    const session = await openLiveWith(origin, { Cookie: user.session.cookie, Origin: origin });
    expectThat(session.ws !== null, `live with the session: ${session.status}`);
    const t2 = performance.now();
    await api(origin, "POST", "/api/auth/logout", { cookie: user.session.cookie });
    const closed2 = await serverClosed(session.ws!, 1_000);
    expectThat(closed2 !== null, "the session's live socket was still open 1 s after sign-out");
    return `token revoke → closed in ${ms.toFixed(0)} ms; sign-out → closed in ${(performance.now() - t2).toFixed(0)} ms`;
  },
};

export const crossSite: Scenario = {
  name: "cross-site writes and upgrades refused",
  async run(ctx) {
    const origin = ctx.platform.origin;
    const user = await ctx.newUser();
    const wrong: string[] = [];
    const attempts: Record<string, string>[] = [
      { "Content-Type": "text/plain", Origin: "https://evil.example" },
      { "Content-Type": "application/x-www-form-urlencoded", Origin: "https://evil.example" },
      { "Content-Type": "application/json", Origin: "https://evil.example" },
      { "Content-Type": "text/plain", Origin: origin },
      { "Content-Type": "application/json" },
    ];
    for (const headers of attempts) {
      const res = await fetch(`${origin}/api/tasks`, {
        method: "POST",
        headers: { ...headers, Cookie: user.session.cookie },
        body: JSON.stringify({ message: "cross-site task" }),
      });
      const body = (await res.json()) as { error?: { code: string } };
      if (res.status !== 403 || body.error?.code !== "cross_site")
        wrong.push(`POST /api/tasks ${JSON.stringify(headers)} → ${res.status}`);
    }
    const tasks = await api<{ tasks: unknown[] }>(origin, "GET", "/api/tasks", {
      cookie: user.session.cookie,
    });
    if (tasks.body.tasks.length !== 0) wrong.push(`${tasks.body.tasks.length} tasks were created`);
    const foreign = await openLiveWith(origin, {
      Cookie: user.session.cookie,
      Origin: "https://evil.example",
    });
    if (foreign.status !== 403) wrong.push(`foreign live upgrade → ${foreign.status}`);
    foreign.ws?.close();
    const page = await fetch(`${origin}/`);
    const csp = page.headers.get("content-security-policy") ?? "";
    if (!csp.includes("frame-ancestors 'none'") || csp.includes("unsafe-inline"))
      wrong.push(`"/" CSP: ${csp || "none"}`);
    if (page.headers.get("x-content-type-options") !== "nosniff") wrong.push(`"/" no nosniff`);
    expectThat(wrong.length === 0, wrong.join("; "));
    return `${attempts.length} cross-site writes and a foreign live upgrade → 403 cross_site; "/" has CSP + nosniff`;
  },
};

export const parallelSignIns: Scenario = {
  name: "40 parallel wrong sign-ins",
  async run(ctx) {
    const origin = ctx.platform.origin;
    const user = await ctx.newUser();
    const attacker = { "CF-Connecting-IP": "198.51.100.66" };
    const login = (password: string, headers: Record<string, string>) =>
      fetch(`${origin}/api/auth/login`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Origin: origin, ...headers },
        body: JSON.stringify({ username: user.name, password }),
      });
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => login(`wrong guess ${i}`, attacker)),
    );
    const checked = results.filter((r) => r.status === 401).length;
    const limited = results.filter((r) => r.status === 429).length;
    expectThat(checked <= 5, `${checked} passwords checked (expected ≤ 5)`);
    expectThat(checked + limited === 40, `statuses: ${results.map((r) => r.status).join(",")}`);
    const started = performance.now();
    const owner = await login("e2e password 1", { "CF-Connecting-IP": "192.0.2.77" });
    const ms = performance.now() - started;
    expectThat(owner.status === 200, `owner from elsewhere: ${owner.status}`);
    return `${checked} passwords checked, ${limited} refused 429; owner elsewhere signs in (${ms.toFixed(0)} ms)`;
  },
};

export const bigFrames: Scenario = {
  name: "3 MB multi-byte frames and replies",
  async run(ctx) {
    const origin = ctx.platform.origin;
    const user = await ctx.newUser();
    const device = new ProtocolDevice({ origin, token: user.token, maxSlots: 1 });
    await device.connect();
    await device.register();
    ctx.cleanups.push(() => device.close());
    // 1 M three-byte characters: 1 Mi UTF-16 units would pass a length check; 3 MB must not.
    device.sendRaw(JSON.stringify({ type: "device:heartbeat", pad: "€".repeat(1_000_000) }));
    const refused = await device.waitFor(
      (f) => f.type === "error" && JSON.stringify(f).includes("frame_too_large"),
      10_000,
    );
    expectThat(refused !== undefined, "3 MB frame not refused");
    // A 3 MB multi-byte reply streamed in < 1 MiB deltas, ended by a failure with no text: the
    // hub's final write must cap it (D1 row) and still end the message and free the slot.
    const { taskId, messageId } = await createTask(origin, user, "big reply", device.deviceId);
    await device.waitFor((f) => f.type === "task:execute" && f.messageId === messageId);
    device.send({ type: "task:accepted", taskId, messageId });
    const chunk = "€".repeat(300_000); // 900 kB per frame
    let offset = 0;
    for (let seq = 1; seq <= 10; seq++) {
      device.send({
        type: "task:progress",
        taskId,
        messageId,
        seq,
        event: { kind: "text", offset, delta: chunk },
      });
      offset += chunk.length;
    }
    device.send({
      type: "task:failed",
      taskId,
      messageId,
      seq: 11,
      code: "agent_error",
      message: "the agent stopped",
      text: "",
      sessionId: null,
    });
    const end = Date.now() + 20_000;
    let status = "";
    let length = 0;
    while (Date.now() < end) {
      const detail = await taskDetail(origin, user, taskId);
      const m = detail.messages.find((x) => x.id === messageId);
      status = m?.status ?? "";
      length = m?.content.length ?? 0;
      if (status === "failed" || status === "completed") break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expectThat(status === "failed", `the 9 MB reply's message ended as "${status}"`);
    return `3 MB frame → frame_too_large; 9 MB reply ended failed, stored ${length} characters (capped)`;
  },
};

export const platformSecurityScenarios = [
  credentialScope,
  credentialReuse,
  revokedTokenLive,
  crossSite,
  parallelSignIns,
  bigFrames,
];
