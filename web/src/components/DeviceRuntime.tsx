// What a device found of Claude Code (version and how it signs in), whether it needs the
// owner's attention before it can run, and what its messages cost today.
import { Fragment } from "react";
import type { Device } from "@wegent/protocol";
import { dollars } from "./Usage";

/** "Needs attention" when a runtime cannot run, with the fix in words; else nothing. */
export function RuntimeProblem(props: { device: Device }) {
  const problem = props.device.runtimes.find((r) => r.problem)?.problem;
  if (!problem) return null;
  return (
    <p className="error" role="alert" data-testid="device-runtime-problem">
      ⚠ Needs attention: {problem.message}
    </p>
  );
}

/** The facts rows (inside the card's `<dl>`). */
export function RuntimeFacts(props: { device: Device }) {
  const { device } = props;
  return (
    <>
      {device.runtimes.map((runtime) => (
        <Fragment key={runtime.id}>
          <dt>Claude Code</dt>
          <dd data-testid="device-runtime">
            {runtime.version ?? "version unknown"} ·{" "}
            <span data-testid="device-auth" data-kind={runtime.auth.kind}>
              {runtime.auth.label}
            </span>
          </dd>
        </Fragment>
      ))}
      {device.costTodayUsd !== null && (
        <>
          <dt>Cost today</dt>
          <dd data-testid="device-cost-today">{dollars(device.costTodayUsd)}</dd>
        </>
      )}
    </>
  );
}
