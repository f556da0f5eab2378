import { startPlatform, api } from "../e2e/harness";
import { connectDevice } from "./lib/device";
import { newUser } from "./lib/platform";
const platform = await startPlatform({ vars: { BENCH_METERS: "1" } });
try {
  const user = await newUser(platform.origin);
  const device = await connectDevice({
    origin: platform.origin,
    token: user.token,
    autoComplete: false,
  });
  const times: number[] = [];
  const parts: string[] = [];
  for (let i = 0; i < 60; i++) {
    const t0 = performance.now();
    const d0 = Date.now();
    const r = await fetch(platform.origin + "/api/tasks", {
      method: "POST",
      body: JSON.stringify({ message: `p ${i}`, target: { deviceId: device.deviceId } }),
      headers: {
        "Content-Type": "application/json",
        Origin: platform.origin,
        Cookie: user.session.cookie,
      },
    });
    const d1 = Date.now();
    await r.text();
    const d2 = Date.now();
    times.push(performance.now() - t0);
    const [a, b] = (r.headers.get("x-t") ?? "0,0").split(",").map(Number);
    parts.push(`in ${a! - d0} worker ${b! - a!} out ${d1 - b!} body ${d2 - d1}`);
    if (r.status !== 201) throw new Error(String(r.status));
    const body = JSON.parse(await Promise.resolve("{}")) as object;
    void body;
    await new Promise((res) => setTimeout(res, 5));
    for (const f of device.frames.filter((f) => f.type === "task:execute")) {
      const fe = f as { taskId: string; messageId: string };
      device.send({
        type: "task:complete",
        taskId: fe.taskId,
        messageId: fe.messageId,
        seq: 1,
        text: "done",
        sessionId: null,
        usage: null,
        costUsd: null,
      });
      await device.waitFor(
        (g) => g.type === "task:ack" && (g as { messageId: string }).messageId === fe.messageId,
        5000,
      );
    }
    device.frames.length = 0;
    await new Promise((res) => setTimeout(res, 30));
  }
  console.log(parts.slice(-15).join("\n"));
  times.sort((a, b) => a - b);
  const h: number[] = [];
  for (let i = 0; i < 100; i++) {
    const t0 = performance.now();
    await fetch(platform.origin + "/api/health").then((r) => r.text());
    h.push(performance.now() - t0);
  }
  h.sort((a, b) => a - b);
  console.log("health p50", h[50]);
  const n: number[] = [];
  for (let i = 0; i < 100; i++) {
    const t0 = performance.now();
    await fetch(platform.origin + "/api/nope").then((r) => r.text());
    n.push(performance.now() - t0);
  }
  n.sort((a, b) => a - b);
  console.log("404 p50", n[50]);
  for (const [label, path, body] of [
    ["POST nope", "/api/nope", "{}"],
    ["POST tasks 400", "/api/tasks", "{}"],
    [
      "POST tasks offline-404",
      "/api/tasks",
      JSON.stringify({ message: "x", target: { deviceId: "nope" } }),
    ],
  ] as const) {
    const q: number[] = [];
    for (let i = 0; i < 60; i++) {
      const t0 = performance.now();
      await fetch(platform.origin + path, {
        method: "POST",
        body,
        headers: {
          "Content-Type": "application/json",
          Origin: platform.origin,
          Cookie: user.session.cookie,
        },
      }).then((r) => r.text());
      q.push(performance.now() - t0);
    }
    q.sort((a, b) => a - b);
    console.log(label, q[30]);
  }
  const { request, Agent } = await import("node:http");
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const k: number[] = [];
  for (let i = 0; i < 100; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const req = request(platform.origin + "/api/nope", { agent }, (res) => {
        res.resume();
        res.on("end", () => resolve());
      });
      req.on("error", reject);
      req.end();
    });
    k.push(performance.now() - t0);
  }
  k.sort((a, b) => a - b);
  console.log("404 keepalive http p50", k[50]);
  const g: number[] = [];
  for (let i = 0; i < 100; i++) {
    const t0 = performance.now();
    await api(platform.origin, "GET", "/api/settings", { cookie: user.session.cookie });
    g.push(performance.now() - t0);
  }
  g.sort((a, b) => a - b);
  console.log("settings p50", g[50]);
  console.log("POST p50", times[30]);
  await new Promise((r) => setTimeout(r, 500));
  console.log(
    platform.logs
      .join("")
      .split("\n")
      .filter((l) => l.includes("TIMING"))
      .filter((l) => !l.includes("GET"))
      .slice(-30)
      .join("\n"),
  );
  device.close();
} finally {
  await platform.stop();
}
