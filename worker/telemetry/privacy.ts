import type { PostProcessorFn } from "@microlabs/otel-cf-workers";
import { safeAttributes } from "@wegent/protocol";

/**
 * Every exported Worker span keeps only allow-listed attributes (protocol/src/trace.ts): the
 * library also records URLs, headers, user agents and SQL text, which never leave.
 */
export const keepAllowed: PostProcessorFn = (spans) => {
  for (const span of spans) {
    const attributes = span.attributes as Record<string, unknown>;
    const kept = safeAttributes(attributes);
    for (const key of Object.keys(attributes)) delete attributes[key];
    Object.assign(attributes, kept);
  }
  return spans;
};
