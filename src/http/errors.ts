import type { ContentfulStatusCode } from 'hono/utils/http-status';

/**
 * A refusal the client should see: an HTTP status, a stable machine-readable code and a
 * sentence. Anything else thrown in a route is an internal fault (500, no detail).
 */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const notFound = (what: string): ApiError => new ApiError(404, 'not_found', `${what} not found`);
