import type { z } from "zod";
import { MAX_FRAME_BYTES, utf8Bytes } from "./common";

export type FrameParseResult<T> =
  | { ok: true; frame: T }
  | { ok: false; code: "frame_too_large" | "bad_json" | "bad_frame"; message: string };

/**
 * Parses an untrusted WebSocket message into a frame of `schema`, or says why not.
 * Never throws: the caller answers with an error frame.
 */
export function parseFrame<S extends z.ZodType>(
  schema: S,
  data: string | ArrayBuffer,
): FrameParseResult<z.infer<S>> {
  if (typeof data !== "string") {
    return { ok: false, code: "bad_frame", message: "binary frames are not accepted" };
  }
  // UTF-16 units never exceed UTF-8 bytes, so a long string is refused before counting.
  const bytes = data.length > MAX_FRAME_BYTES ? data.length : utf8Bytes(data);
  if (bytes > MAX_FRAME_BYTES) {
    return {
      ok: false,
      code: "frame_too_large",
      message: `frame of ${bytes} bytes or more exceeds the ${MAX_FRAME_BYTES}-byte limit`,
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return { ok: false, code: "bad_json", message: "frame is not valid JSON" };
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join(".")}` : "";
    return {
      ok: false,
      code: "bad_frame",
      message: `${issue?.message ?? "invalid frame"}${where}`,
    };
  }
  return { ok: true, frame: result.data };
}
