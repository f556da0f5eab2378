import type { CloudStatus } from "@wegent/protocol";
import { type DeviceRow, deviceRuntimes } from "../../durable-objects/contract";

// Whether Cloud can run a task now: some pool executor is connected, its runtime has no problem
// (e.g. a model credential) and it reports its sandbox. Cloud is offered only then.

type PoolRow = Pick<DeviceRow, "slotsUsed" | "maxSlots" | "runtimes" | "sandbox">;

/** The pool's figures and, when no executor can run a task, why (never an operator's command). */
export function cloudStatus(pool: readonly PoolRow[]): CloudStatus {
  const ready = pool.filter(
    (row) => row.sandbox !== null && !deviceRuntimes(row).some((r) => r.problem),
  );
  const figures = {
    online: pool.length > 0,
    executors: pool.length,
    slotsUsed: pool.reduce((n, row) => n + row.slotsUsed, 0),
    maxSlots: pool.reduce((n, row) => n + row.maxSlots, 0),
  };
  if (pool.length === 0) {
    return { ...figures, problem: "No cloud executor is online." };
  }
  if (ready.length > 0) return { ...figures, problem: null };
  const runtimeProblem = pool.flatMap((row) => deviceRuntimes(row)).find((r) => r.problem);
  // The problem's message is written for the operator who runs the pool: only its code is shown.
  const problem = runtimeProblem
    ? `Cloud cannot run tasks now: its executors need the operator's attention (${runtimeProblem.problem!.code}).`
    : "Cloud cannot run tasks now: its executors report no sandbox to run them in.";
  return { ...figures, problem };
}
