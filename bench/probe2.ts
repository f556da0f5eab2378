import { startPlatform } from "../e2e/harness";
import { execSync } from "node:child_process";
const platform = await startPlatform({ vars: { BENCH_METERS: "1" } });
try {
  const out = execSync("ss -ltnpH").toString();
  const ports = [...out.matchAll(/127\.0\.0\.1:(\d+).*?"(workerd|node)",pid=(\d+)/g)].map((m) => [
    m[1],
    m[2],
    m[3],
  ]);
  console.log(platform.port, ports);
  for (const [port] of ports) {
    const k: number[] = [];
    try {
      for (let i = 0; i < 50; i++) {
        const t0 = performance.now();
        const r = await fetch(`http://127.0.0.1:${port}/api/nope`);
        await r.text();
        k.push(performance.now() - t0);
        if (i === 0) console.log(port, r.status);
      }
      k.sort((a, b) => a - b);
      console.log(port, "p50", k[25]);
    } catch (e) {
      console.log(port, String(e));
    }
  }
} finally {
  await platform.stop();
}
