/**
 * Error classes: the same failure with different ids, numbers or quoted values is one class.
 * A message is normalised — job and order ids, UUIDs, long hex strings, URLs' hosts and paths,
 * quoted values and numbers become placeholders — and its HTTP status, if it names one, is
 * kept as a class (5xx, 4xx). GET /dlq/causes groups the dead-letter queue by these classes.
 */
export interface ErrorClass {
  /** The normalised message: the class's identity. */
  readonly key: string;
  /** The HTTP status class the message names, if any. */
  readonly httpStatusClass: '4xx' | '5xx' | null;
}

const replacements: readonly (readonly [RegExp, string])[] = [
  [/\b(?:job|ord|batch|sched|mw)_[0-9a-z]+(?:\.[a-z_]+)?\b/gi, '<id>'],
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>'],
  [/\bhttps?:\/\/[^\s"']+/gi, '<url>'],
  [/\b[0-9a-f]{12,}\b/gi, '<hex>'],
  [/"[^"]*"|'[^']*'/g, '<value>'],
  [/\b\d{4}-\d{2}-\d{2}T[\d:.]+Z?\b/g, '<time>'],
  // Digits inside identifiers too (acct_1234, user42): an id with a prefix is still an id.
  [/-?\d+(?:\.\d+)?/g, '<n>'],
];

export function errorClassOf(message: string): ErrorClass {
  const status = /\b(?:HTTP|status)\s*([45])\d\d\b/i.exec(message)?.[1];
  let key = message.trim().slice(0, 500);
  for (const [pattern, placeholder] of replacements) key = key.replace(pattern, placeholder);
  return {
    key: key.replace(/\s+/g, ' '),
    httpStatusClass: status === '4' ? '4xx' : status === '5' ? '5xx' : null,
  };
}

/**
 * A short, stable id of an error class (FNV-1a, 32 bits, as 8 hex digits): the name of its
 * counter in the metric buckets, where the class's text is kept beside it once.
 */
export function errorClassId(key: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, '0');
}

/** Longest class text a metric bucket keeps (the class is identified by its full text's id). */
export const errorLabelLength = 200;

export interface DeadJobFacts {
  readonly jobId: string;
  readonly type: string;
  readonly queue: string;
  readonly error?: string;
  readonly deadAt?: string;
  readonly updatedAt?: string;
}

export interface DeadLetterCause {
  readonly errorClass: string;
  readonly httpStatusClass: '4xx' | '5xx' | null;
  readonly count: number;
  readonly firstSeen: string | null;
  readonly lastSeen: string | null;
  readonly types: readonly string[];
  readonly queues: readonly string[];
  readonly sample: { readonly jobId: string; readonly error: string };
}

/** Dead jobs grouped by error class, the most frequent first. */
export function deadLetterCauses(jobs: Iterable<DeadJobFacts>): DeadLetterCause[] {
  const causes = new Map<
    string,
    {
      cls: ErrorClass;
      count: number;
      first: string | null;
      last: string | null;
      types: Set<string>;
      queues: Set<string>;
      sample: { jobId: string; error: string };
    }
  >();
  for (const job of jobs) {
    const error = job.error ?? '(no error recorded)';
    const cls = errorClassOf(error);
    const at = job.deadAt ?? job.updatedAt ?? null;
    const cause = causes.get(cls.key) ?? {
      cls,
      count: 0,
      first: at,
      last: at,
      types: new Set<string>(),
      queues: new Set<string>(),
      sample: { jobId: job.jobId, error },
    };
    cause.count++;
    if (at && (!cause.first || at < cause.first)) cause.first = at;
    if (at && (!cause.last || at > cause.last)) {
      cause.last = at;
      cause.sample = { jobId: job.jobId, error };
    }
    cause.types.add(job.type);
    cause.queues.add(job.queue);
    causes.set(cls.key, cause);
  }
  return [...causes.values()]
    .sort((a, b) => b.count - a.count || a.cls.key.localeCompare(b.cls.key))
    .map((c) => ({
      errorClass: c.cls.key,
      httpStatusClass: c.cls.httpStatusClass,
      count: c.count,
      firstSeen: c.first,
      lastSeen: c.last,
      types: [...c.types].sort(),
      queues: [...c.queues].sort(),
      sample: c.sample,
    }));
}
