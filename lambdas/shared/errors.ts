import type { ZodError } from 'zod';

/** Courier's error `type` values. */
export type ErrorType = 'invalid_request_error' | 'authentication_error' | 'authorization_error' | 'rate_limit_error' | 'api_error';

/**
 * The one error family handlers throw. Mapped to HTTP once, by the error responder middleware, as
 * Courier's `{ message, type }` body. Anything that is not an ApiError becomes a generic 500.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: ErrorType,
    message: string,
    /** Extra response headers, e.g. `x-should-retry: false` on a semantic 409. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends ApiError {
  constructor(message: string) {
    super(400, 'invalid_request_error', message);
  }

  /** Names every offending field, e.g. `body.profile: expected object, received string`. */
  static fromZod(where: string, error: ZodError): ValidationError {
    const parts = error.issues.slice(0, 5).map((issue) => {
      const field = [where, ...issue.path.map(String)].filter(Boolean).join('.');
      return `${field}: ${issue.message}`;
    });
    return new ValidationError(`Invalid request: ${parts.join('; ')}`);
  }
}

export class NotFoundError extends ApiError {
  constructor(message: string) {
    super(404, 'invalid_request_error', message);
  }
}

/**
 * A 409. `retryable`: the request lost a race (contention) and the same request may succeed if sent
 * again (`x-should-retry: true`; store code re-runs it with retryOnConflict); otherwise the
 * conflict is about the request itself (a semantic 409, `x-should-retry: false`).
 */
export class ConflictError extends ApiError {
  constructor(
    message: string,
    readonly retryable = false,
  ) {
    super(409, 'invalid_request_error', message, { 'x-should-retry': String(retryable) });
  }
}

/** Whether `e` is contention: a retryable ConflictError. */
export const isContention = (e: unknown): e is ConflictError => e instanceof ConflictError && e.retryable;

export class PayloadTooLargeError extends ApiError {
  constructor(limit: number) {
    super(413, 'invalid_request_error', `Request body is larger than ${limit} bytes`, { 'x-should-retry': 'false' });
  }
}

export class AuthenticationError extends ApiError {
  constructor(message = 'Unauthorized: a valid API key is required (Authorization: Bearer <key>)') {
    super(401, 'authentication_error', message);
  }
}

export class AuthorizationError extends ApiError {
  constructor(message: string) {
    super(403, 'authorization_error', message);
  }
}

export class MethodNotAllowedError extends ApiError {
  constructor(method: string, path: string) {
    super(405, 'invalid_request_error', `Method ${method} is not allowed on ${path}`);
  }
}
