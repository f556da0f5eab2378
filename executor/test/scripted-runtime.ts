// An AgentRuntime the test drives by hand: it emits what the test says, ends when told or aborted.
import type { DeviceRuntime, FailureCode, ProgressEvent, RuntimeId } from "@wegent/protocol";
import type { AgentRuntime, RunOutcome, RunRequest } from "../src/runtime/types";

export interface ScriptedRun {
  request: RunRequest;
  signal: AbortSignal;
  emit(event: ProgressEvent): void;
  finish(outcome: RunOutcome): void;
}

export class ScriptedRuntime implements AgentRuntime {
  constructor(readonly name: RuntimeId = "claude-code") {}
  preflightProblem: { code: FailureCode; message: string } | null = null;
  readonly runs = new Map<string, ScriptedRun>();
  readonly started: RunRequest[] = [];
  /** What the runtime says of itself (the test sets it; absent: nothing described). */
  describe?: () => Promise<DeviceRuntime>;

  async preflight(): Promise<{ code: FailureCode; message: string } | null> {
    return this.preflightProblem;
  }

  run(
    request: RunRequest,
    onEvent: (event: ProgressEvent) => void,
    signal: AbortSignal,
  ): Promise<RunOutcome> {
    this.started.push(request);
    return new Promise((resolve) => {
      let text = "";
      const run: ScriptedRun = {
        request,
        signal,
        emit: (event) => {
          if (event.kind === "text") text += event.delta;
          onEvent(event);
        },
        finish: resolve,
      };
      signal.addEventListener("abort", () => {
        const code = signal.reason === "executor_stopped" ? "executor_stopped" : "cancelled";
        resolve({ ok: false, code, message: `aborted: ${code}`, text, sessionId: null });
      });
      this.runs.set(request.messageId, run);
    });
  }

  get(messageId: string): ScriptedRun {
    const run = this.runs.get(messageId);
    if (!run) throw new Error(`no run for ${messageId}`);
    return run;
  }
}

export function textEvent(offset: number, delta: string): ProgressEvent {
  return { kind: "text", offset, delta };
}
