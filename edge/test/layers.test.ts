import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

// The house's one rule, drawn from its own imports: arrows only go down,
// worker/ → durable-objects/ → edge/ → protocol/, and no module imports itself round a circle.
const root = resolve(dirname(new URL(import.meta.url).pathname), "../..");
const LAYERS = ["protocol/src", "edge", "durable-objects", "worker"] as const;

function files(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

const layerOf = (file: string) => LAYERS.findIndex((l) => file.startsWith(`${l}/`));

function imports(file: string): string[] {
  const text = readFileSync(join(root, file), "utf8");
  const found: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^;]*?from\s+"([^"]+)"/g)) {
    const spec = m[1]!;
    if (spec === "@wegent/protocol") found.push("protocol/src/index.ts");
    else if (spec.startsWith(".")) {
      const base = relative(root, resolve(root, dirname(file), spec));
      const candidates = [`${base}.ts`, join(base, "index.ts")];
      found.push(candidates.find((c) => allFiles.has(c)) ?? `${base}.ts`);
    }
  }
  return found;
}

const allFiles = new Set(LAYERS.flatMap((l) => files(l)));
const graph = new Map([...allFiles].map((f) => [f, imports(f)]));

describe("the import graph", () => {
  it("has every arrow going down a layer (or within one), never up", () => {
    const upward: string[] = [];
    for (const [from, targets] of graph) {
      for (const to of targets) {
        if (layerOf(to) === -1) upward.push(`${from} → ${to} (outside the layers)`);
        else if (layerOf(to) > layerOf(from)) upward.push(`${from} → ${to}`);
      }
    }
    expect(upward).toEqual([]);
    // The check reads real files: the hubs import the contract, the Worker the hubs.
    expect(graph.get("worker/routes/devices.ts")).toContain("durable-objects/contract.ts");
  });

  it("has no circle", () => {
    const state = new Map<string, "open" | "done">();
    const circles: string[] = [];
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "open") {
        circles.push([...path.slice(path.indexOf(file)), file].join(" → "));
        return;
      }
      state.set(file, "open");
      for (const to of graph.get(file) ?? []) visit(to, [...path, file]);
      state.set(file, "done");
    };
    for (const file of graph.keys()) visit(file, []);
    expect(circles).toEqual([]);
  });
});
