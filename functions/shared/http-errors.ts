/** An error the client caused and can fix; middy's httpErrorHandler exposes it (status < 500). */
export class HttpError extends Error {
  readonly expose = true;
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (code: string, message: string, details?: unknown) =>
  new HttpError(400, code, message, details);

export const notFound = (code: string, message: string) => new HttpError(404, code, message);
