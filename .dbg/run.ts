import * as cp from "node:child_process";
import { startPlatform, startExecutor, signUp, createToken, api, until } from "../e2e/harness.ts";
import { startFakeModel, text, toolUse } from "../e2e/fake-model/server.ts";
const platform = await startPlatform();
const fake = await startFakeModel();
try {
  const user = await signUp(platform.origin, "dbg_user");
  const mode0 = process.argv[2] ?? "local"; const token = (await createToken(platform.origin, user, mode0 === "cloud" ? { name: "op", scope: "cloud" } : { name: "t" })).token;
  const mode = (process.argv[2] ?? "local") as "local" | "cloud";
  const ex = startExecutor({ origin: platform.origin, token, modelUrl: fake.url, mode, args: ["--log-level", "debug"] });
  await ex.waitFor("registered", 20000).catch(e => { console.log(ex.output(), fake.requests.length, cp.execSync("ps -o pid,ppid,stat,args -g $(ps -o sid= -p " + ex.child.pid + ") ; ps -o pid,ppid,stat,args --ppid " + ex.child.pid + " | cut -c1-200").toString()); throw e; });
  fake.on("hello there", [{ blocks: [toolUse("Bash", { command: process.argv[3] ?? "id; echo $HOME; pwd" })] }, { blocks: [text("done")] }]);
  const res: any = await api(platform.origin, "POST", "/api/tasks", { cookie: user.cookie, body: { message: "hello there", target: { deviceId: ex.deviceId } } });
  console.log(res.status);
  const d: any = await until(async () => { const r: any = await api(platform.origin, "GET", `/api/tasks/${res.body.task.id}`, { cookie: user.cookie }); return ["completed","failed"].includes(r.body.task.status) ? r.body : undefined; }, 15000, "end").catch(e => { console.log(ex.output(), fake.requests.length, cp.execSync("ps -o pid,ppid,stat,args -g $(ps -o sid= -p " + ex.child.pid + ") ; ps -o pid,ppid,stat,args --ppid " + ex.child.pid + " | cut -c1-200").toString()); throw e; });
  console.log(JSON.stringify(d.messages.map((m: any) => [m.status, m.content, m.errorMessage ?? m.error])));
  const tr = fake.requests.filter(r => r.prompt === null || true).map(r => JSON.stringify(r.body).match(/tool_result.{0,1500}/)?.[0]).filter(Boolean);
  console.log(tr.join("\n"));
  console.log(ex.output().slice(-3000));
  await ex.stop();
} finally { await fake.close(); await platform.stop(); }
