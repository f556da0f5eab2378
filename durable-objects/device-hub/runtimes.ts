import { type DeviceRuntime, RuntimeId } from "@wegent/protocol";

// Which agent runtimes a device has, as its executor says at registration: the ones ready to
// run (`runtimes`) and the ones it described (`runtimeInfo`, with a problem or not). A task
// naming another is refused at submit (409 `runtime_unavailable`).

export function deviceRuntimeIds(frame: {
  runtimes?: readonly string[];
  runtimeInfo?: readonly DeviceRuntime[] | undefined;
}): RuntimeId[] | null {
  const ids = new Set<RuntimeId>();
  for (const id of frame.runtimes ?? []) {
    const parsed = RuntimeId.safeParse(id);
    if (parsed.success) ids.add(parsed.data);
  }
  for (const runtime of frame.runtimeInfo ?? []) ids.add(runtime.id);
  return ids.size === 0 ? null : [...ids];
}

/** The name the owner reads. */
export function runtimeName(id: RuntimeId): string {
  return id === "codex" ? "Codex" : "Claude Code";
}
