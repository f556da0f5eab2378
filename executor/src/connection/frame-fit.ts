import { MAX_FRAME_BYTES, type ProgressEvent, utf8Bytes } from "@wegent/protocol";

/** Room left in a frame for everything but its text. */
const MAX_TEXT_FRAME_BYTES = MAX_FRAME_BYTES - 16 * 1024;
const TRUNCATED_NOTE =
  "\n\n[… the rest of this reply was too long to send; see the streamed output]";
/** Tool inputs bigger than this are not streamed whole: the hub refuses frames over 1 MiB. */
const MAX_TOOL_INPUT_CHARS = 256 * 1024;

/**
 * The hub refuses frames over 1 MiB of UTF-8, and a refused terminal frame would be re-sent forever.
 * The whole reply already went out in the streamed deltas, so a shortened final text loses
 * nothing the user cannot see.
 */
export function fitText(text: string): string {
  let limit = text.length;
  while (limit > 0 && utf8Bytes(JSON.stringify(text.slice(0, limit))) > MAX_TEXT_FRAME_BYTES) {
    limit = Math.floor(limit / 2);
  }
  return limit === text.length ? text : text.slice(0, limit) + TRUNCATED_NOTE;
}

export function boundEvent(event: ProgressEvent): ProgressEvent {
  if (event.kind !== "tool_use") return event;
  const size = JSON.stringify(event.input ?? null)?.length ?? 0;
  if (size <= MAX_TOOL_INPUT_CHARS) return event;
  return { ...event, input: { truncated: true, originalChars: size } };
}
