// The executor's tracing surface: a no-op when no OTLP endpoint is configured (the SDK is then
// never loaded; see index.ts). Names and attributes: docs/observability.md.

/** A span being measured. */
export interface StepSpan {
  end(attributes?: Record<string, unknown>, error?: boolean): void;
}

/** Makes spans under a parent context: the seam between our rules and the OTel SDK. */
export interface SpanFactory {
  start(
    name: string,
    parent: string | undefined,
    attributes: Record<string, unknown>,
    startMs?: number,
  ): {
    traceparent: string | undefined;
    end(attributes: Record<string, unknown>, endMs: number, error: boolean): void;
  };
}

/** One message's spans, continuing the hub's `traceparent` from task:execute. */
export interface MessageTrace {
  /** The message span's context, for the frames sent back (undefined when off). */
  readonly traceparent: string | undefined;
  step(name: string, attributes?: Record<string, unknown>): StepSpan;
  /** The agent is being started now (agent start and first token count from here). */
  agentStarting(): void;
  /** A progress event the agent produced: agent start, first token, tool calls. */
  event(event: { kind: string; toolUseId?: string; name?: string; durationMs?: number }): void;
  end(status: string, code?: string | null): void;
}

export interface ExecutorTracing {
  readonly enabled: boolean;
  message(frame: {
    taskId: string;
    messageId: string;
    traceparent?: string | undefined;
  }): MessageTrace;
  /** Sends what is buffered (at exit). */
  shutdown(): Promise<void>;
  /** A span outside a message (a workspace archive or restore), under the hub's `traceparent`. */
  span?(name: string, parent: string | undefined, attributes?: Record<string, unknown>): StepSpan;
}

const NOOP_STEP: StepSpan = { end() {} };

export const NO_MESSAGE_TRACE: MessageTrace = {
  traceparent: undefined,
  step: () => NOOP_STEP,
  agentStarting() {},
  event() {},
  end() {},
};

export const NO_TRACING: ExecutorTracing = {
  enabled: false,
  message: () => NO_MESSAGE_TRACE,
  shutdown: () => Promise.resolve(),
};
