/** The API answered with an error: its status and the error envelope `{"error":{code,message,details}}`. */
export class FactoryApiError extends Error {
  override readonly name = 'FactoryApiError';
  readonly code: string;
  readonly details: unknown;

  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly method: string,
    readonly path: string,
  ) {
    const error = envelopeOf(body);
    super(error?.message ?? `${method} ${path} answered HTTP ${status}`);
    this.code = error?.code ?? `HTTP_${status}`;
    this.details = error?.details ?? null;
  }
}

/** The factory could not be reached at all (connection refused, DNS, TLS, a timeout). */
export class FactoryConnectionError extends Error {
  override readonly name = 'FactoryConnectionError';
  /** Why, in a word where there is one (ECONNREFUSED, ENOTFOUND, …). */
  readonly reason: string;
  constructor(
    readonly url: string,
    override readonly cause: unknown,
  ) {
    const reason = describeCause(cause);
    super(`No factory at ${url} (${reason})`);
    this.reason = reason;
  }
}

/** A wait gave up before the job or order finished. */
export class FactoryTimeoutError extends Error {
  override readonly name = 'FactoryTimeoutError';
}

function envelopeOf(body: unknown): { code?: string; message?: string; details?: unknown } | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const error = (body as { error?: unknown }).error;
  if (error === null || typeof error !== 'object') return undefined;
  const { code, message, details } = error as Record<string, unknown>;
  return {
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof message === 'string' ? { message } : {}),
    details,
  };
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) {
    const inner = (cause as Error & { cause?: unknown }).cause;
    const code = (inner as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string') return code;
    return cause.message;
  }
  return String(cause);
}
