/** An error the client caused and can fix; middy's httpErrorHandler exposes it (status < 500). */
export class HttpError extends Error {
  readonly expose = true;
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    /** Response headers of the refusal (e.g. WWW-Authenticate); middy's error handler sets them. */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (code: string, message: string, details?: unknown) =>
  new HttpError(400, code, message, details);

export const notFound = (code: string, message: string) => new HttpError(404, code, message);

export const conflict = (code: string, message: string, details?: unknown) =>
  new HttpError(409, code, message, details);

/**
 * Turns the domain's "the client asked for something invalid" errors into 400s (use in .catch):
 * JobRejected carries its own code and details; InvalidCursor is a tampered or stale cursor.
 * IntakeFailed (storage failed under a submission) is a 503 that says what was kept;
 * RequestInProgress (the same Idempotency-Key still being stored by another call) a 409 with
 * Retry-After.
 */
export function rejectedAsHttp(error: unknown): never {
  if (error instanceof Error && error.name === 'IntakeFailed') {
    const failed = error as Error & { stored: readonly string[] };
    throw new HttpError(503, 'INTAKE_FAILED', failed.message, { stored: failed.stored });
  }
  // The IETF Idempotency-Key draft's answer to a retry that overlaps the first request: 409.
  if (error instanceof Error && error.name === 'RequestInProgress')
    throw new HttpError(
      409,
      'REQUEST_IN_PROGRESS',
      error.message,
      { retryAfterSeconds: 5 },
      { 'Retry-After': '5' },
    );
  if (error instanceof Error && error.name === 'JobRejected') {
    const rejected = error as Error & { code: string; details?: unknown };
    throw badRequest(rejected.code, rejected.message, rejected.details);
  }
  if (error instanceof Error && error.name === 'InvalidCursor')
    throw badRequest('INVALID_CURSOR', error.message);
  throw error;
}
