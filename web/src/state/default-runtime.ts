import { useEffect, useState } from "react";
import { type RuntimeId, SettingsBody } from "@wegent/protocol";
import { api } from "../api";

/**
 * The user's default agent (Settings → Default agent, `defaultRuntime`): the runtime a new task
 * runs on when the composer names none. Read when `wanted` (a new chat's composer); null until
 * it is known, or when it cannot be read (the Worker then applies it anyway).
 */
export function useDefaultRuntime(wanted: boolean): RuntimeId | null {
  const [runtime, setRuntime] = useState<RuntimeId | null>(null);
  useEffect(() => {
    if (!wanted) return;
    let current = true;
    api("GET", "/api/settings", SettingsBody).then(
      (body) => current && setRuntime(body.settings.defaultRuntime),
      () => undefined, // no default known: the composer shows Claude Code's, as the Worker would
    );
    return () => {
      current = false;
    };
  }, [wanted]);
  return runtime;
}
