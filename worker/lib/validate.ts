import type { Context } from "hono";
import type { z } from "zod";
import { ApiError, describeZodError } from "./errors";

/** Parses the JSON body with `schema`, or throws a 400 that says what is wrong. */
export async function readBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  let json: unknown;
  try {
    const text = await c.req.text();
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
