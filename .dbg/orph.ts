import * as cp from "node:child_process";
import { startPlatform, startExecutor, signUp, createToken, api } from "../e2e/harness.ts";
import { startFakeModel, text, toolUse } from "../e2e/fake-model/server.ts";
const platform = await startPlatform();
const fake = await startFakeModel();
try {
  const user = await signUp(platform.origin, "dbg_user");
  const token = (await createToken(platform.origin, user, { name: "t" })).token;
  const ex = startExecutor({ origin: platform.origin, token, modelUrl: fake.url });
  await ex.waitFor("registered", 20000);
  fake.on("orph", [{ blocks: [toolUse("Bash", { command: "tail -s 301 -f /dev/null & setsid tail -s 302 -f /dev/null & (tail -s 303 -f /dev/null &); tail -s 300 -f /dev/null", timeout: 120000 })] }, { blocks: [text("done")] }]);
  await api(platform.origin, "POST", "/api/tasks", { cookie: user.cookie, body: { message: "orph", target: { deviceId: ex.deviceId } } });
  await new Promise(r => setTimeout(r, 8000));
  console.log(cp.execSync(`ps -eo pid,ppid,sid,args | grep -E "tail -s 30|claude|node -e" | grep -v grep | cut -c1-150`).toString());
  for (const pid of cp.execSync("pgrep -f 'tail -s 30'").toString().trim().split("\n")) { try { console.log(pid, cp.execSync(`tr '\\0' '\\n' < /proc/${pid}/environ | grep -E 'HOME|WEGENT'`).toString()); } catch (e) { console.log(pid, "no match"); } }
  console.log(JSON.stringify(fake.requests.map(r => JSON.stringify(r.body).match(/tool_result.{0,600}/)?.[0]).filter(Boolean)));
  await ex.stop("SIGKILL");
} finally { await fake.close(); await platform.stop(); }
