import type { DeviceSandbox } from "@wegent/protocol";
import { HELP_TEXT, loadConfig, standardExecutorHome } from "./config";
import { Executor } from "./executor";
import { claimHome, defaultDeviceName, loadDeviceId, platformName } from "./identity";
import {
  describeCredentials,
  findCredentials,
  LOCAL_CREDENTIALS_MISSING,
} from "./local/credentials";
import { captureLoginEnvironment, type Env } from "./local/environment";
import { LocalWork } from "./local/local-work";
import { loadOwnerCommands, type OwnerCommand } from "./commands/owner-commands";
import { createLogger, maskToken } from "./log";
import { batchLimitsFromEnv } from "./connection/outbox";
import { startMetrics, startTracing } from "./telemetry";
import { createClaudeRuntime } from "./runtime/claude/runtime";
import { codexRuntimeIfInstalled, codexThreadLister } from "./runtime/registry";
import type { AgentLauncher } from "./runtime/launcher";
import { setUpCloud } from "./sandbox/cloud-setup";
import { startRun } from "./security/leftovers";
import { lifelineLauncher } from "./security/lifeline";
import { ancestorsShowing } from "./security/scrub";
import { deviceAuthAtStart, hideToken } from "./security/startup";
import { mcpPolicy } from "./capabilities/mcp-policy";

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
  // No process of ours may show the token in /proc (environ, cmdline): see security/scrub.ts.
  const hidden = hideToken(config.token);

  const log = createLogger({ level: config.logLevel, json: config.jsonLogs });
  if (hidden === "failed") {
    log.warn(
      "could not remove the token from this process's /proc environ/cmdline; put it in device-config.json (mode 0600) or pair instead",
    );
  }
  for (const parent of config.token === null ? [] : ancestorsShowing([config.token])) {
    log.warn(
      `the token is still visible in /proc/${parent.pid}/${parent.where} of a parent process (${parent.command || "?"}), for as long as the executor runs${parent.where === "cmdline" ? " and to every user of this machine" : ""}: a launcher such as npx or npm run keeps its own copy. Start wegent-executor directly with WEGENT_TOKEN, put the token in device-config.json, or pair without a token`,
    );
  }
  let deviceId: string;
  try {
    deviceId =
      config.deviceId ??
      loadDeviceId(config.homeDir, undefined, config.mode, standardExecutorHome());
    if (config.deviceId !== null && config.homeDir === config.configDir) {
      // The first device id on a home claims it: another id later gets <home>/devices/<id>.
      claimHome(config.homeDir, config.deviceId, config.mode);
    }
  } catch (error) {
    log.error(`cannot store the device id in ${config.homeDir}: ${String(error)}`);
    return 1;
  }
  const deviceName = config.name ?? defaultDeviceName();
  log.info(`wegent-executor ${VERSION}`, { mode: config.mode });
  log.info(`device "${deviceName}"`, { deviceId });
  log.info(`backend ${config.backendUrl}`, {
    token: config.token === null ? "none" : maskToken(config.token),
  });
  log.info(`${config.maxSlots} slot(s), workspaces in ${config.workspaceRoot}`);
  if (config.homeDir !== config.configDir) log.info(`device state in ${config.homeDir}`);
  const managedMcp = mcpPolicy(config.managedMcp, config.permissionMode);
  if (config.mode === "local") {
    log.info(
      `managed MCP servers: stdio ${managedMcp.stdio ? "allowed" : "not started"}, may read ${managedMcp.env.join(", ") || "no environment variable"} (device-config.json managedMcp)`,
    );
  }
  if (config.preExecuteHook) {
    log.info(`pre-execute hook: ${config.preExecuteHook.argv.join(" ")}`, {
      timeoutSec: config.preExecuteHook.timeoutSec,
    });
  }

  // Local mode: the agent works as this machine's owner would (cloud stays sealed).
  let userEnv: Env | undefined;
  let local: LocalWork | undefined;
  if (config.mode === "local") {
    const captured = await captureLoginEnvironment(process.env);
    userEnv = captured.env;
    log.info(`agent environment: ${captured.source}`, { home: userEnv.HOME });
    const credentials = findCredentials(userEnv);
    if (credentials) log.info(`model credentials: ${describeCredentials(credentials)}`);
    else log.warn(`model credentials: none. ${LOCAL_CREDENTIALS_MISSING}`);
    local = new LocalWork({
      deviceId,
      settings: { projects: config.projects, projectsRoot: config.projectsRoot },
      homeDir: config.homeDir,
      userEnv,
      log,
      otherSessions: codexThreadLister({
        ...(config.codexPath ? { executable: config.codexPath } : {}),
        userEnv,
      }),
    });
  }

  let ownerCommands: OwnerCommand[];
  try {
    ownerCommands = await loadOwnerCommands(config.configDir);
  } catch (error) {
    process.stderr.write(
      `wegent-executor: ${config.configDir}/device-config.json: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return 2;
  }
  if (ownerCommands.length > 0) {
    log.info(
      `${ownerCommands.length} command key(s): ${ownerCommands.map((c) => c.key).join(", ")}`,
    );
  }

  const start = await deviceAuthAtStart({
    config,
    deviceId,
    deviceName,
    platform: platformName(),
    version: VERSION,
    log,
  });
  if ("error" in start) {
    log.error(start.error);
    return 1;
  }
  // Agents of an earlier run that outlived it (its executor was killed) end now.
  const run = await startRun(config.homeDir);
  if (run.swept > 0) log.warn(`killed ${run.swept} agent process(es) left by an earlier run`);
  if (run.previousAlive) log.warn(`another wegent-executor is running with ${config.homeDir}`);
  let launcher: AgentLauncher = lifelineLauncher(run.nextMarker);
  let cleanUp = async (): Promise<void> => {};
  let sandbox: DeviceSandbox | undefined;
  if (config.mode === "cloud") {
    const cloud = await setUpCloud({
      baseEnv: process.env,
      homeDir: config.homeDir,
      workspaceRoot: config.workspaceRoot,
      nextMarker: run.nextMarker,
      log,
    });
    if ("error" in cloud) {
      log.error(cloud.error);
      return 1;
    }
    launcher = cloud.launcher;
    sandbox = {
      network: "none",
      limits: cloud.limits.applied.slice(0, 10).map((s) => s.slice(0, 200)),
      notApplied: cloud.limits.notApplied.slice(0, 10).map((s) => s.slice(0, 300)),
    };
    cleanUp = async () => {
      await cloud.launcher.removeAll();
      await cloud.proxy.close();
    };
  }

  const executor = new Executor({
    backendUrl: config.backendUrl,
    token: config.token ?? "",
    auth: start.auth,
    deviceType: config.mode,
    deviceId,
    deviceName,
    platform: platformName(),
    version: VERSION,
    maxSlots: config.maxSlots,
    workspaceRoot: config.workspaceRoot,
    homeDir: config.homeDir,
    stopTimeoutMs: config.stopTimeoutSeconds * 1000,
    outputBatch: batchLimitsFromEnv(process.env),
    preExecuteHook: config.preExecuteHook,
    mcpPolicy: managedMcp,
    ...(sandbox ? { sandbox } : {}),
    runtimes: [
      createClaudeRuntime({
        launcher,
        clientApp: `wegent-executor/${VERSION}`,
        permissionMode: config.permissionMode,
        ...(userEnv ? { userEnv } : {}),
        maxSessions: config.maxSlots,
        // A cloud task's sandbox ends with its reply (docs/security.md).
        ...(config.mode === "cloud" ? { keepWarm: false } : {}),
        onOffers: (offers) => executor.reportOffers(offers),
      }),
      // Codex where the owner has it (local mode; the cloud pool offers Claude Code only).
      ...(config.mode === "local"
        ? codexRuntimeIfInstalled({
            ...(config.codexPath ? { executable: config.codexPath } : {}),
            launcher,
            permissionMode: config.permissionMode,
            ...(userEnv ? { userEnv } : {}),
            clientVersion: VERSION,
            log,
          })
        : []),
    ],
    ...(local ? { local } : {}),
    ownerCommands,
    ...(userEnv?.HOME ? { userHome: userEnv.HOME } : {}),
    ...(userEnv ? { commandEnv: userEnv } : {}),
    log,
  });

  // OpenTelemetry: loaded only when OTEL_EXPORTER_OTLP_ENDPOINT is set (docs/observability.md).
  const traces = await startTracing(process.env).catch((error: unknown) => {
    log.warn(`tracing is off: ${error instanceof Error ? error.message : String(error)}`);
    return null;
  });
  if (traces?.enabled) log.info("tracing on: spans go to the OTLP endpoint");
  let exportWarned = false;
  const meters = await startMetrics(
    process.env,
    () => ({
      deviceId,
      slotsInUse: executor.runningMessages,
      slots: config.maxSlots,
      unackedFrames: executor.unackedFrames,
    }),
    (status) => {
      // Once at warn (a collector that is down stays down); then quietly.
      (exportWarned ? log.debug : log.warn).call(log, "metrics export failed", { status });
      exportWarned = true;
    },
  ).catch((error: unknown) => {
    log.warn(`metrics are off: ${error instanceof Error ? error.message : String(error)}`);
    return null;
  });
  if (meters?.enabled) log.info("metrics on: sent to the OTLP endpoint");

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
  await Promise.all([
    traces?.shutdown().catch(() => undefined),
    meters?.shutdown().catch(() => undefined),
  ]);
  await cleanUp();
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
