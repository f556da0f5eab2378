import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

// The executor and the web UI import `@wegent/protocol` only from the platform; inside each, the
// folders are floors and an import goes to the same floor or one below, never up, and no module
// imports itself round a circle. (The platform's own layers: layers.test.ts.)
const root = resolve(dirname(new URL(import.meta.url).pathname), "../..");

interface Plan {
  src: string;
  /** Bottom first; a floor is a list of folders (`name/`) and loose files (`name.ts`). */
  floors: readonly (readonly string[])[];
  /** Known arrows up, each with the reason it is still there. */
  allowed?: Readonly<Record<string, string>>;
}

const EXECUTOR: Plan = {
  src: "executor/src",
  floors: [
    // Processes, git, paths pinned against swaps, the log and traces: imports nothing of the
    // executor above.
    ["system/", "log.ts", "telemetry/"],
    // The socket to the hub, the outbox, the device RPC's answering side.
    ["connection/"],
    // The parts a task uses: its places and archives, the owner's projects, the agent runtime,
    // the sandbox, the device's own security, its capabilities and settings.
    [
      "workspace/",
      "local/",
      "runtime/",
      "sandbox/",
      "security/",
      "capabilities/",
      "config.ts",
      "hooks.ts",
      "identity.ts",
      "input-requests.ts",
    ],
    // The device commands' handlers (command.run): only handlers.
    ["commands/"],
    // What puts it together: the task manager, the executor, the CLI.
    ["task-manager.ts", "executor.ts", "executor-options.ts", "cli.ts"],
  ],
};

const WEB: Plan = {
  src: "web/src",
  floors: [
    // Talking to the Worker: the HTTP client and the live channel.
    ["api.ts", "traceparent.ts", "live/"],
    // Plain helpers (routes, markdown, time).
    ["lib/"],
    // The app's state and the device commands the UI runs.
    ["state/", "commands/"],
    // What the user sees.
    ["components/", "main.tsx"],
  ],
};

function files(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? files(join(dir, e.name))
      : /\.tsx?$/.test(e.name) && !e.name.endsWith(".d.ts")
        ? [join(dir, e.name)]
        : [],
  );
}

function graphOf(plan: Plan) {
  const all = new Set(files(plan.src));
  const graph = new Map<string, string[]>();
  for (const file of all) {
    const text = readFileSync(join(root, file), "utf8");
    const found: string[] = [];
    const specs = text.matchAll(
      /(?:(?:^|\n)\s*(?:import|export)[^;]*?from\s+|\bimport\s*\(\s*|(?:^|\n)\s*import\s+)"([^"]+)"/g,
    );
    for (const m of specs) {
      const spec = m[1]!;
      if (!spec.startsWith(".") || spec.endsWith(".css")) continue;
      const base = relative(root, resolve(root, dirname(file), spec)).replace(/\.(js|ts)$/, "");
      const candidates = [`${base}.ts`, `${base}.tsx`, join(base, "index.ts"), base];
      found.push(candidates.find((c) => all.has(c)) ?? `${base}.ts`);
    }
    graph.set(file, found);
  }
  return graph;
}

function floorOf(plan: Plan, file: string): number {
  if (!file.startsWith(`${plan.src}/`)) return -1;
  const inside = file.slice(plan.src.length + 1);
  return plan.floors.findIndex((floor) =>
    floor.some((place) => (place.endsWith("/") ? inside.startsWith(place) : inside === place)),
  );
}

function upward(plan: Plan): string[] {
  const found: string[] = [];
  for (const [from, targets] of graphOf(plan)) {
    const own = floorOf(plan, from);
    if (own === -1) found.push(`${from} is on no floor`);
    for (const to of targets) {
      const arrow = `${from} → ${to}`;
      if (floorOf(plan, to) === -1) found.push(`${arrow} (on no floor)`);
      else if (floorOf(plan, to) > own && !plan.allowed?.[arrow]) found.push(arrow);
    }
  }
  return found;
}

function circles(plan: Plan): string[] {
  const graph = graphOf(plan);
  const state = new Map<string, "open" | "done">();
  const found: string[] = [];
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "open") {
      found.push([...path.slice(path.indexOf(file)), file].join(" → "));
      return;
    }
    state.set(file, "open");
    for (const to of graph.get(file) ?? []) visit(to, [...path, file]);
    state.set(file, "done");
  };
  for (const file of graph.keys()) visit(file, []);
  return found;
}

describe.each([
  ["the executor", EXECUTOR],
  ["the web UI", WEB],
])("%s's floors", (_name, plan) => {
  it("has every file on a floor and every arrow going down a floor (or within one)", () => {
    expect(upward(plan)).toEqual([]);
  });

  it("has no circle", () => {
    expect(circles(plan)).toEqual([]);
  });
});

describe("the floor check", () => {
  it("reads real files and sees an arrow up", () => {
    const graph = graphOf(EXECUTOR);
    expect(graph.get("executor/src/executor.ts")).toContain(
      "executor/src/connection/connection.ts",
    );
    // The same plan with commands/ put below the workspace sees the handlers' imports as upward.
    const swapped: Plan = {
      ...EXECUTOR,
      floors: [
        EXECUTOR.floors[0]!,
        ["connection/", "commands/"],
        ...EXECUTOR.floors.slice(2, 3),
      ].concat([EXECUTOR.floors[4]!]),
    };
    expect(upward(swapped)).toContain(
      "executor/src/commands/runner.ts → executor/src/workspace/changes.ts",
    );
  });
});
