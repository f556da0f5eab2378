import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_BACKEND_URL, loadConfig, type ConfigResult } from "../src/config";
import { maskToken } from "../src/log";

const HOME = "/home/alice";
const FILE = join(HOME, ".wegent-executor", "device-config.json");

function load(
  argv: string[],
  env: Record<string, string> = {},
  file: unknown = null,
): ConfigResult {
  return loadConfig({
    argv,
    env,
    userHome: HOME,
    readFile: (path) => {
      if (file === null) return null;
      expect(path).toBe(
        env.WEGENT_EXECUTOR_HOME ? join(env.WEGENT_EXECUTOR_HOME, "device-config.json") : FILE,
      );
      return typeof file === "string" ? file : JSON.stringify(file);
    },
  });
}

function config(result: ConfigResult) {
  if (result.kind !== "run") throw new Error(`expected a config, got ${JSON.stringify(result)}`);
  return result.config;
}

function errorOf(result: ConfigResult): string {
  if (result.kind !== "error") throw new Error(`expected an error, got ${result.kind}`);
  return result.message;
}

describe("config", () => {
  it("uses defaults when only a token is given", () => {
    const c = config(load(["--token", "tok-from-flag"]));
    expect(c).toMatchObject({
      mode: "local",
      token: "tok-from-flag",
      backendUrl: DEFAULT_BACKEND_URL,
      name: null,
      maxSlots: 5,
      homeDir: join(HOME, ".wegent-executor"),
      workspaceRoot: join(HOME, ".wegent-executor", "workspaces"),
      logLevel: "info",
      jsonLogs: false,
      stopTimeoutSeconds: 10,
      permissionMode: "bypassPermissions",
    });
  });

  it("takes the permission mode from the flag, else the file", () => {
    expect(config(load(["--token", "t", "--permission-mode", "acceptEdits"])).permissionMode).toBe(
      "acceptEdits",
    );
    expect(config(load(["--token", "t"], {}, { permissionMode: "plan" })).permissionMode).toBe(
      "plan",
    );
    expect(errorOf(load(["--token", "t", "--permission-mode", "yolo"]))).toMatch(
      /permission mode must be one of/,
    );
  });

  it("takes flags over env over file over defaults", () => {
    const file = {
      token: "file-token",
      backendUrl: "http://file.example",
      maxSlots: 2,
      name: "from file",
    };
    const env = { WEGENT_TOKEN: "env-token", WEGENT_BACKEND_URL: "http://env.example" };

    const fileOnly = config(load([], {}, file));
    expect([fileOnly.token, fileOnly.backendUrl, fileOnly.maxSlots, fileOnly.name]).toEqual([
      "file-token",
      "http://file.example",
      2,
      "from file",
    ]);

    const envOverFile = config(load([], env, file));
    expect([envOverFile.token, envOverFile.backendUrl, envOverFile.maxSlots]).toEqual([
      "env-token",
      "http://env.example",
      2,
    ]);

    const flags = config(
      load(
        [
          "--token",
          "flag-token",
          "--backend-url",
          "https://flag.example",
          "--max-slots",
          "3",
          "--name",
          "Flag",
        ],
        env,
        file,
      ),
    );
    expect([flags.token, flags.backendUrl, flags.maxSlots, flags.name]).toEqual([
      "flag-token",
      "https://flag.example",
      3,
      "Flag",
    ]);
  });

  it("honours WEGENT_EXECUTOR_HOME and --workspace", () => {
    const c = config(
      load(
        ["--token", "t", "--workspace", "/srv/ws"],
        { WEGENT_EXECUTOR_HOME: "/opt/wx" },
        { maxSlots: 1 },
      ),
    );
    expect(c.homeDir).toBe("/opt/wx");
    expect(c.workspaceRoot).toBe("/srv/ws");
    expect(c.maxSlots).toBe(1);
  });

  it("accepts cloud mode, log level and json logs", () => {
    const c = config(
      load(["--token", "t", "--mode", "cloud", "--log-level", "debug", "--json-logs"]),
    );
    expect([c.mode, c.logLevel, c.jsonLogs]).toEqual(["cloud", "debug", true]);
  });

  it("explains bad values", () => {
    expect(errorOf(load(["--token", "t", "--max-slots", "9"]))).toMatch(
      /max slots must be at most 5/,
    );
    expect(errorOf(load(["--token", "t", "--max-slots", "two"]))).toMatch(
      /max slots must be a number/,
    );
    expect(errorOf(load(["--token", "t", "--max-slots", "0"]))).toMatch(/at least 1/);
    expect(errorOf(load(["--token", "t", "--mode", "server"]))).toMatch(
      /mode must be "local" or "cloud"/,
    );
    expect(errorOf(load(["--token", "t", "--backend-url", "not a url"]))).toMatch(/backend URL/);
    expect(errorOf(load(["--token", "t", "--backend-url", "ftp://x.example"]))).toMatch(/http/);
    expect(errorOf(load(["--token", "t", "--log-level", "loud"]))).toMatch(
      /log level must be one of/,
    );
    expect(errorOf(load(["--token", "t", "--stop-timeout=-1"]))).toMatch(/stop timeout/);
    expect(errorOf(load(["--mode", "cloud"]))).toMatch(/no token/);
    expect(config(load([])).token).toBeNull();
    expect(errorOf(load(["--token", "t", "--frobnicate"]))).toMatch(
      /Unknown option '--frobnicate'/,
    );
    expect(errorOf(load(["--token", "t"], {}, "{not json"))).toMatch(/not valid JSON/);
    expect(errorOf(load(["--token", "t"], {}, { maxSlots: "many" }))).toMatch(/device-config.json/);
  });

  it("answers --help and --version before reading anything else", () => {
    expect(load(["--help"]).kind).toBe("help");
    expect(load(["--version"]).kind).toBe("version");
  });

  it("never shows a whole token", () => {
    const token = "eyJhbGciOiJIUzI1NiJ9.payload.signature-x9Q";
    expect(maskToken(token)).toBe("eyJh…x9Q");
    expect(maskToken("short")).toBe("…");
  });
});

describe("local work settings", () => {
  it("takes repeatable --project, --projects-root and --device-id, or the file and env", () => {
    const c = config(
      load(["--token", "t", "--project", "/a", "--project", "rel", "--projects-root", "/code"]),
    );
    expect(c.projects).toEqual(["/a", join(process.cwd(), "rel")]);
    expect(c.projectsRoot).toBe("/code");
    expect(c.deviceId).toBeNull();
    const fromFile = config(
      load(
        ["--token", "t"],
        {},
        { projects: ["/p"], projectsRoot: "/r", deviceId: "file-device-1" },
      ),
    );
    expect(fromFile).toMatchObject({
      projects: ["/p"],
      projectsRoot: "/r",
      deviceId: "file-device-1",
    });
    expect(config(load(["--token", "t"], { WEGENT_DEVICE_ID: "env-device-01" })).deviceId).toBe(
      "env-device-01",
    );
    expect(config(load(["--token", "t", "--device-id", "flag-device-1"])).deviceId).toBe(
      "flag-device-1",
    );
  });

  it("refuses a bad device id and projects in cloud mode", () => {
    expect(errorOf(load(["--token", "t", "--device-id", "../x"]))).toMatch(/device id/);
    expect(errorOf(load(["--token", "t", "--mode", "cloud", "--project", "/a"]))).toMatch(
      /projects are for --mode local/,
    );
  });
});

describe("config: Codex", () => {
  it("takes the codex binary from --codex, else device-config.json, else none (PATH)", () => {
    expect(config(load(["--token", "t"])).codexPath).toBeNull();
    expect(config(load(["--token", "t", "--codex", "/opt/codex/bin/codex"])).codexPath).toBe(
      "/opt/codex/bin/codex",
    );
    expect(config(load(["--token", "t"], {}, { codex: "/usr/local/bin/codex" })).codexPath).toBe(
      "/usr/local/bin/codex",
    );
  });
});
