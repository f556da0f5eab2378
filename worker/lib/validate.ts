import type { Context } from "hono";
import type { z } from "zod";
import { ApiError, describeZodError } from "./errors";

/** Largest JSON body any route accepts, in bytes as sent (UTF-8). */
export const MAX_BODY_BYTES = 1024 * 1024;

const tooLarge = () =>
  new ApiError(413, "body_too_large", `the request body exceeds ${MAX_BODY_BYTES} bytes`);

/** Reads the body as UTF-8 text, refusing it once it passes `max` bytes (whatever it claims). */
export async function readText(request: Request, max = MAX_BODY_BYTES): Promise<string> {
  const declared = Number(request.headers.get("Content-Length") ?? "0");
  if (declared > max) throw tooLarge();
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

/** Parses the JSON body with `schema`, or throws a 400 that says what is wrong. */
export async function readBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const text = await readText(c.req.raw);
  let json: unknown;
  try {
    json = text.length === 0 ? {} : JSON.parse(text);
  } catch {
    throw new ApiError(400, "bad_json", "the request body must be valid JSON");
  }
  const result = schema.safeParse(json);
  if (!result.success)
    throw new ApiError(400, "invalid_body", describeZodError(result.error, "body"));
  return result.data;
}

export function readParams<S extends z.ZodType>(c: Context, schema: S): z.infer<S> {
  const result = schema.safeParse(c.req.param());
  if (!result.success)
    throw new ApiError(400, "invalid_path", describeZodError(result.error, "path"));
  return result.data;
}

export function readQuery<S extends z.ZodType>(c: Context, schema: S): z.infer<S> {
  const result = schema.safeParse(c.req.query());
  if (!result.success)
    throw new ApiError(400, "invalid_query", describeZodError(result.error, "query"));
  return result.data;
}
