/**
 * Secrets in job payloads (a webhook's Authorization header, an API key): every view and export
 * shows them as "[redacted]", and the stored payload keeps them only as long as the job may still
 * run — they are dropped when it completes or is cancelled (a DEAD job keeps them, so that a
 * retry from the dead-letter queue still works, until it is retried, discarded or expires).
 * A field is secret when its name says so (authorization, cookie, token, secret, password,
 * api key, credential), or when its job type declares its path secret.
 */
export const redacted = '[redacted]';

const secretName = /authori[sz]ation|cookie|token|secret|passw(or)?d|api[-_]?key|credential|private[-_]?key/i;

export const isSecretName = (name: string): boolean => secretName.test(name);

/** The payload with every secret value replaced; `paths` are the type's own (dot paths, `*` for any key). */
export function redact(value: unknown, paths: readonly string[] = [], at: readonly string[] = []): unknown {
  if (Array.isArray(value)) return value.map((item) => redact(item, paths, at));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([key, inner]) => {
      const path = [...at, key];
      const declared = paths.some((p) => matches(p.split('.'), path));
      return [key, declared || isSecretName(key) ? redacted : redact(inner, paths, path)];
    }),
  );
}

const matches = (pattern: readonly string[], path: readonly string[]) =>
  pattern.length === path.length && pattern.every((part, i) => part === '*' || part === path[i]);

/** Whether anything in the payload would be redacted (then the stored copy is stripped when done). */
export const hasSecrets = (value: unknown, paths: readonly string[] = []): boolean =>
  JSON.stringify(redact(value, paths)) !== JSON.stringify(value);
