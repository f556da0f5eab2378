// Inside the sandbox's own network namespace there is only its own loopback; Claude Code wants
// an HTTP base URL. The sandbox therefore starts the agent through this relay: a few lines of
// Node that listen on the sandbox's 127.0.0.1:RELAY_PORT, forward each connection to the run's
// model socket (bind-mounted at SANDBOX_MODEL_SOCKET), and then start the agent with stdio
// passed straight through, ending with its exit code. The relay holds no secret: the per-run
// secret is in the agent's ANTHROPIC_BASE_URL path, checked by the socket's server.

/** Where each run's model socket folder is mounted inside its sandbox (read-only). */
export const SANDBOX_RUN_DIR = "/run/wegent";
export const MODEL_SOCKET_NAME = "model.sock";
export const SANDBOX_MODEL_SOCKET = `${SANDBOX_RUN_DIR}/${MODEL_SOCKET_NAME}`;
/** Any port: every sandbox has its own loopback. */
export const RELAY_PORT = 8377;

export const relayBaseUrl = (secret: string): string =>
  `http://127.0.0.1:${RELAY_PORT}/t/${secret}`;

/** `node -e` source; argv: socket, port, command, ...args. CommonJS, Node >= 20, no deps. */
export const RELAY_SOURCE = String.raw`
const net = require("node:net"), cp = require("node:child_process"), os = require("node:os");
const [socket, port, command, ...args] = process.argv.slice(1);
const server = net.createServer((inside) => {
  const out = net.connect(socket);
  inside.pipe(out).on("error", () => inside.destroy());
  out.pipe(inside).on("error", () => out.destroy());
  inside.on("error", () => out.destroy());
  out.on("error", () => inside.destroy());
});
server.on("error", (e) => {
  process.stderr.write("wegent sandbox: the model relay could not start: " + e.message + "\n");
  process.exit(125);
});
server.listen(Number(port), "127.0.0.1", () => {
  const child = cp.spawn(command, args, { stdio: "inherit" });
  for (const s of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(s, () => child.kill(s));
  child.on("error", (e) => {
    process.stderr.write("wegent sandbox: " + command + ": " + e.message + "\n");
    process.exit(127);
  });
  child.on("exit", (code, signal) =>
    process.exit(signal ? 128 + (os.constants.signals[signal] || 1) : (code ?? 1)),
  );
});
`;

/** The argv (after bwrap's `--` and setpriv) that runs `command args` behind the relay. */
export function relayed(node: string, command: string, args: string[]): string[] {
  return [
    node,
    "-e",
    RELAY_SOURCE,
    "--",
    SANDBOX_MODEL_SOCKET,
    String(RELAY_PORT),
    command,
    ...args,
  ];
}
