/** One error type for the API: handlers throw, onError renders {"error","param"} once. */
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: ContentfulStatusCode,
    message: string,
    readonly param?: string,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export const badParam = (param: string, message: string) => new ApiError(400, `${param}: ${message}`, param);
