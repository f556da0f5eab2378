import { utf8Bytes } from "@wegent/protocol";
import { log } from "../../edge/log";
import type { FailureCode } from "@wegent/protocol";

/** The part of a message's ending this file reads (MessageEnd in slots.ts). */
interface Ending {
  status: "completed" | "failed" | "cancelled";
  content: string;
  errorCode: FailureCode | null;
  errorMessage: string | null;
}

/**
 * D1 refuses rows over 2 MB, and a refused final write would leave a message running with its
 * slot held. A reply is stored (and pushed live) capped well under that, in UTF-8 bytes, with a
 * marker; the full text goes to R2 (`ARCHIVES`) under its owner.
 */
export const MAX_STORED_REPLY_BYTES = 1024 * 1024;

export function replyMarker(totalBytes: number): string {
  return `\n\n[Reply truncated: ${totalBytes} bytes in all; the full text is kept in the archive.]`;
}

/** The reply as stored: itself when it fits, else its longest prefix that fits plus a marker. */
export function capReply(
  text: string,
  maxBytes = MAX_STORED_REPLY_BYTES,
): { text: string; truncated: boolean; totalBytes: number } {
  const totalBytes = utf8Bytes(text);
  if (totalBytes <= maxBytes) return { text, truncated: false, totalBytes };
  const marker = replyMarker(totalBytes);
  const budget = maxBytes - utf8Bytes(marker);
  // One pass: the longest prefix of whole code points within the budget.
  let bytes = 0;
  let end = 0;
  while (end < text.length) {
    const c = text.charCodeAt(end);
    const pair = c >= 0xd800 && c <= 0xdbff && end + 1 < text.length;
    const next = text.charCodeAt(end + 1);
    const isPair = pair && next >= 0xdc00 && next <= 0xdfff;
    const size = c < 0x80 ? 1 : c < 0x800 ? 2 : isPair ? 4 : 3;
    if (bytes + size > budget) break;
    bytes += size;
    end += isPair ? 2 : 1;
  }
  return { text: text.slice(0, end) + marker, truncated: true, totalBytes };
}

/** Where the full text of a capped reply is kept in R2. */
export const replyArchiveKey = (ownerId: string, messageId: string) =>
  `${ownerId}/replies/${messageId}.txt`;

/**
 * The final D1 write. If it fails (a row too big, D1 or R2 down), the message still ends:
 * `internal_error` with a short reply, written once more; the caller frees the slot either way.
 */
export async function finalWrite<E extends Ending>(
  write: (end: E) => Promise<void>,
  messageId: string,
  full: E,
): Promise<E> {
  try {
    await write(full);
    return full;
  } catch (error) {
    log(
      { event: "task.final_write_failed", messageId: messageId, message: String(error) },
      "error",
    );
    const fallback: E = {
      ...full,
      status: "failed",
      errorCode: "internal_error",
      errorMessage: "The reply could not be stored; what was kept is shown.",
      content: capReply(full.content, 64 * 1024).text,
    };
    try {
      await write(fallback);
    } catch (again) {
      log(
        { event: "task.final_write_failed", messageId: messageId, message: String(again) },
        "error",
      );
    }
    return fallback;
  }
}
