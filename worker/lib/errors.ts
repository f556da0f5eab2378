import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";

/** An error the API answers with `{ error: { code, message } }` and its status. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function errorBody(code: string, message: string) {
  return { error: { code, message } };
}

/** Turns a zod failure into one readable sentence naming the field. */
export function describeZodError(error: z.ZodError, what: string): string {
  const issue = error.issues[0];
  if (!issue) return `invalid ${what}`;
  const field = issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
  return `invalid ${what}: ${field}${issue.message}`;
}

export const notFound = (what: string) => new ApiError(404, "not_found", `${what} not found`);
