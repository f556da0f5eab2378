// What the fake model records of every request it got, and how a test reads a record.

export interface RecordedRequest {
  method: string;
  path: string;
  /** Parsed JSON body, or null when there was none / it was not JSON. */
  body: unknown;
  /** Text of the latest user prompt, for /v1/messages requests. */
  prompt: string | null;
  /** Which scripted turn answered it ("default" when no rule matched). */
  answeredBy: string;
  /** The credentials Claude Code sent: `Authorization` (OAuth login) and `x-api-key`. */
  authorization: string | null;
  apiKey: string | null;
  /** `performance.now()` when the request arrived and when its answer was fully written. */
  startedAt?: number;
  endedAt?: number;
}

/** Names of the tools a recorded request offered the model. */
export function toolNames(record: RecordedRequest): string[] {
  const tools = (record.body as { tools?: unknown } | null)?.tools;
  if (!Array.isArray(tools)) return [];
  return tools.flatMap((t: unknown) =>
    t && typeof t === "object" && typeof (t as { name?: unknown }).name === "string"
      ? [(t as { name: string }).name]
      : [],
  );
}

/** The system prompt of a recorded request, as one text. */
export function systemText(record: RecordedRequest): string {
  const system = (record.body as { system?: unknown } | null)?.system;
  if (typeof system === "string") return system;
  if (!Array.isArray(system)) return "";
  return system
    .map((b: unknown) =>
      b && typeof b === "object" ? String((b as { text?: unknown }).text ?? "") : "",
    )
    .join("\n");
}

/** Everything the request carried (system, messages with their reminders, tools) as text. */
export function requestText(record: RecordedRequest): string {
  return JSON.stringify(record.body ?? null);
}

/** What a test usually wants to know about a request. */
export function describeRequest(record: RecordedRequest) {
  return {
    prompt: record.prompt,
    answeredBy: record.answeredBy,
    tools: toolNames(record),
    system: systemText(record),
  };
}
