import { type Machine, machineLine } from "../lib/machine";
import type { Outcome } from "./runner";

// Everything from this line on in docs/reliability.md is written by hand (the rows of issues
// closed with their own tests) and kept as it is when `--docs` rewrites the file.
export const HAND_WRITTEN = "<!-- written by hand below: kept by `npm run gauntlet -- --docs` -->";

/** The hand-written part of the current file (from the marker on), or "" when there is none. */
export function handWritten(current: string): string {
  const at = current.indexOf(HAND_WRITTEN);
  return at === -1 ? "" : `\n${current.slice(at)}`;
}

export function reliabilityDoc(
  outcomes: Outcome[],
  m: Machine,
  seconds: number,
  current = "",
): string {
  const passed = outcomes.filter((o) => o.passed).length;
  const rows = outcomes
    .map(
      (o) =>
        `| ${o.name} | ${o.passed ? "pass" : "**FAIL**"} | ${o.figure.replace(/\|/g, "\\|").replace(/\n\s*/g, " ")} |`,
    )
    .join("\n");
  return `# Reliability

The gauntlet drives a real \`wrangler dev\` on loopback (fresh local state, default timings:
grace 15 s, ping timeout 25 s) with real \`wegent-executor\` processes running Claude Code
against the fake model, and with protocol-level clients (a bare \`ws\` socket speaking
\`@wegent/protocol\`). After every scenario it checks that no task of the scenario's users is
left non-terminal and that every device is back to \`slotsUsed 0\` with an empty queue.

## How to rerun

\`\`\`sh
npm run build          # the executor bundle and the SPA the platform serves
npm run gauntlet       # everything, ~${Math.ceil(seconds / 60)} min; prints only
npm run gauntlet -- --docs   # the same, and rewrites this file
npm run gauntlet -- --only "fuzz" --fuzz 2000   # one scenario, not written here
npx vitest run --project e2e e2e/gauntlet-ci.test.ts   # the fast CI subset (< 60 s)
\`\`\`

The code is in \`bench/gauntlet/\` (one file per family of faults); the TCP proxy that cuts an
executor's socket without killing the process is \`bench/lib/proxy.ts\`.

## Latest run

${machineLine(m)} · ${seconds.toFixed(0)} s

| scenario | result | figure |
| --- | --- | --- |
${rows}

**${passed} passed, ${outcomes.length - passed} failed**

## What each scenario does

- **executor killed mid-task** — SIGKILL while Claude Code streams; the message must fail
  \`device_disconnected\` after the grace.
- **socket cut within the grace** — the executor talks to the platform through a loopback TCP
  proxy; the test destroys both sockets mid-stream. The executor reconnects, re-sends what the
  hub has not acknowledged, and the reply must be byte-identical to what the model sent, with
  every live \`seq\` exactly once and in order.
- **executor frozen** — SIGSTOP for 5 s (less than the ping timeout), then SIGCONT: the reply
  completes, byte-identical.
- **wrangler dev restarted mid-task** — \`platform.restart()\` while streaming; the executor
  reconnects, the tab resumes with \`?after=<liveSeq>\`; the reply must complete byte-identical.
- **two executors with one device id** — the second replaces the first (\`4009\`), the first
  stops with a message, one device is listed and a task runs once.
- **fuzzed frames** — bad JSON, empty, scalars, arrays, wrong types, unknown types, prototype
  keys, binary, over-1-MiB frames (strikes) and valid frames with unknown tasks, duplicate and
  out-of-order sequence numbers (no strike). Every frame must be answered (error or ack), ten
  strikes must close with \`4008\`, and the task under fire must still complete intact.
- **every REST route fed bad input** — bad JSON, wrong types, huge bodies, bad ids, queries
  and headers on every route: never a 5xx, every error \`{error:{code,message}}\`.
- **cross-user attempts** — another user's cookie and token on every task, device and token
  route (always 404), their socket with the same device id (isolated hub, the owner's socket
  untouched), a forged \`X-Wegent-Owner\` header (ignored), and their live channel (nothing leaks).
- **revoked token** — the device socket of a revoked token closes with \`4002\` within 5 s and
  the token cannot reconnect.
${handWritten(current)}`;
}
