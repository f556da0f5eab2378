import { useEffect, useState } from "react";
import { useStore } from "../state/store";

/** Grace before "reconnecting" shows, so a blip or a server deploy does not flash a warning. */
export const RECONNECTING_AFTER_MS = 2_000;

export function ConnectionIndicator() {
  const { liveOpen } = useStore();
  const [late, setLate] = useState(false);

  useEffect(() => {
    if (liveOpen) {
      setLate(false);
      return;
    }
    const timer = setTimeout(() => setLate(true), RECONNECTING_AFTER_MS);
    return () => clearTimeout(timer);
  }, [liveOpen]);

  const text = liveOpen ? "Live" : late ? "Reconnecting…" : "Connecting…";
  const state = liveOpen ? "live" : late ? "reconnecting" : "connecting";
  return (
    <span
      className={`connection ${state}`}
      role="status"
      data-testid="connection"
      data-state={state}
    >
      <span aria-hidden="true" className="dot" />
      {text}
    </span>
  );
}
