import { HELP_TEXT, loadConfig } from "./config";
import { Executor } from "./executor";
import { defaultDeviceName, loadDeviceId, platformName } from "./identity";
import { createLogger, maskToken } from "./log";
import { createClaudeRuntime } from "./runtime/claude";

declare const __EXECUTOR_VERSION__: string;
/** Set by build.mjs from package.json; "dev" when run from source. */
const VERSION = typeof __EXECUTOR_VERSION__ === "string" ? __EXECUTOR_VERSION__ : "0.0.0-dev";

async function main(): Promise<number> {
  const result = loadConfig({ argv: process.argv.slice(2), env: process.env });
  switch (result.kind) {
    case "help":
      process.stdout.write(HELP_TEXT);
      return 0;
    case "version":
      process.stdout.write(`wegent-executor ${VERSION}\n`);
      return 0;
    case "error":
      process.stderr.write(`wegent-executor: ${result.message}\n`);
      return 2;
    case "run":
      break;
  }
  const config = result.config;
  // The agent's processes must never inherit the device token.
  delete process.env.WEGENT_TOKEN;

  const log = createLogger({ level: config.logLevel, json: config.jsonLogs });
  let deviceId: string;
  try {
    deviceId = loadDeviceId(config.homeDir, undefined, config.mode);
  } catch (error) {
    log.error(`cannot store the device id in ${config.homeDir}: ${String(error)}`);
    return 1;
  }
  const deviceName = config.name ?? defaultDeviceName();
  log.info(`wegent-executor ${VERSION}`, { mode: config.mode });
  log.info(`device "${deviceName}"`, { deviceId });
  log.info(`backend ${config.backendUrl}`, { token: maskToken(config.token) });
  log.info(`${config.maxSlots} slot(s), workspaces in ${config.workspaceRoot}`);

  const executor = new Executor({
    backendUrl: config.backendUrl,
    token: config.token,
    deviceType: config.mode,
    deviceId,
    deviceName,
    platform: platformName(),
    version: VERSION,
    maxSlots: config.maxSlots,
    workspaceRoot: config.workspaceRoot,
    homeDir: config.homeDir,
    stopTimeoutMs: config.stopTimeoutSeconds * 1000,
    runtime: createClaudeRuntime({
      clientApp: `wegent-executor/${VERSION}`,
      permissionMode: config.permissionMode,
    }),
    log,
  });

  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) {
      // A second Ctrl-C: the user wants out now.
      process.stderr.write("\nwegent-executor: stopped at once\n");
      process.exit(130);
    }
    interrupted = true;
    log.info(`${signal}: stopping (press Ctrl-C again to quit at once)`);
    void executor.stop();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const exit = await executor.run();
  if (exit.exitCode === 0) log.info("stopped");
  return exit.exitCode;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `wegent-executor: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
