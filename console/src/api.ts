/**
 * The console's calls to the factory API: same origin (the API serves the console), the key
 * signed in with as a bearer token, the factory's error envelope turned into an ApiError.
 */
const keyItem = 'robot-factory.api-key';

export const signedInKey = (): string | null => sessionStorage.getItem(keyItem);
export const keepKey = (key: string) => sessionStorage.setItem(keyItem, key);
export const forgetKey = () => sessionStorage.removeItem(keyItem);

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown,
  ) {
    super(message);
  }
}

/** Called when the API refuses the key (revoked while signed in): the console signs out. */
let onRefused: () => void = () => {};
export const whenKeyRefused = (handler: () => void) => {
  onRefused = handler;
};

async function send(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${signedInKey() ?? ''}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.ok) return response;
  const answer = (await response.json().catch(() => null)) as {
    error?: { code?: string; message?: string; details?: unknown };
  } | null;
  if (response.status === 401) onRefused();
  throw new ApiError(
    response.status,
    answer?.error?.code ?? 'HTTP_ERROR',
    answer?.error?.message ?? `${method} ${path} answered ${response.status}`,
    answer?.error?.details ?? null,
  );
}

/** What to tell the operator of a failed call: the API's message, with the fields a validation failure names. */
export function problemOf(failure: unknown): string {
  if (!(failure instanceof ApiError)) return (failure as Error).message;
  const issues = Array.isArray(failure.details)
    ? (failure.details as { path?: string; message?: string }[])
        .filter((d) => d && typeof d.message === 'string')
        .map((d) => (d.path ? `${d.path}: ${d.message}` : d.message))
    : [];
  return issues.length ? `${failure.message} ${issues.join('; ')}` : failure.message;
}

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await send(method, path, body);
  const text = await response.text();
  return (text ? JSON.parse(text) : null) as T;
}

export const get = <T>(path: string) => call<T>('GET', path);

/** A file the API answers (a job's output, the DLQ export), saved or opened by the browser. */
export async function download(path: string, fileName?: string): Promise<void> {
  const blob = await (await send('GET', path)).blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  if (fileName) link.download = fileName;
  else link.target = '_blank';
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** A query string from the given parameters, leaving out empty ones. */
export const query = (params: Record<string, string | number | undefined | null>): string => {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '');
  return entries.length ? `?${new URLSearchParams(entries.map(([k, v]) => [k, String(v)]))}` : '';
};
