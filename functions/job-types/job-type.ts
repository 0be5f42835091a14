/**
 * A job type is a plugin: a payload schema (checked at submission, so bad payloads are a 400 and
 * never reach a worker), defaults, and `run`. Adding a type = one module here + one line in
 * index.ts (and naming it in a queue's jobTypes). `run` reaches the outside world only through
 * the context's ports, which the worker wires to adapters.
 */
import type { z } from 'zod';
import type { Backoff } from '#domain/backoff';

export interface StoredArtifact {
  readonly key: string;
  readonly contentType: string;
  readonly bytes: number;
}

export interface JobContext {
  readonly jobId: string;
  readonly queue: string;
  readonly attempt: number;
  /** Aborted on timeout, cancellation or lost lease: long work should check it. */
  readonly signal: AbortSignal;
  now(): Date;
  random(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  log(level: 'INFO' | 'WARN' | 'ERROR', message: string): Promise<void>;
  /**
   * How far the job has come (0–100) and what it is doing: shown by GET /jobs/{id} and pushed as
   * `job.progress`, at most once a second (call it as often as you like; it never waits).
   */
  progress(percent: number, message?: string): void;
  readonly outbox: {
    deliver(mail: {
      jobId: string;
      to: string;
      cc: string[];
      subject: string;
      body: string;
      sentAt: string;
    }): Promise<void>;
  };
  readonly artifacts: {
    put(name: string, body: Uint8Array, contentType: string): Promise<StoredArtifact>;
    get(key: string): Promise<{ body: Uint8Array; contentType: string } | undefined>;
  };
  /**
   * HTTP to the outside world, for URLs a job names: only public destinations (and those the
   * deployment allows), checked on the resolved address and on every redirect. A refused
   * destination rejects with an error named OutboundRefused.
   */
  readonly outbound: {
    request(
      url: string,
      init: { method?: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal },
    ): Promise<{ status: number; ok: boolean; body: Uint8Array }>;
  };
  readonly jobsData: {
    /** Finished jobs (standalone and robot steps) created in [from, to), per queue and state. */
    finishedBetween(from: string, to: string): AsyncIterable<FinishedJobFacts>;
  };
}

export interface FinishedJobFacts {
  readonly queue: string;
  readonly type: string;
  readonly status: string;
  readonly kind: string;
  readonly robotType?: string;
  readonly createdAt: string;
  readonly startedAt?: string;
  readonly completedAt?: string;
  readonly attempts: number;
}

export interface JobTypeDefaults {
  readonly maxAttempts: number;
  readonly timeoutMs: number;
  readonly backoff?: Partial<Backoff>;
}

export interface JobType<S extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly description: string;
  readonly payload: S;
  readonly defaults: JobTypeDefaults;
  /**
   * Payload paths that hold secrets beyond those whose names say so (domain/secrets.ts), as dot
   * paths with `*` for any key, e.g. `headers.*`: redacted in every view, dropped when done.
   */
  readonly secretFields?: readonly string[];
  run(payload: z.infer<S>, context: JobContext): Promise<Record<string, unknown>>;
}

/** Thrown by a handler for a failure retrying cannot fix: the job goes DEAD at once. */
export class PermanentJobError extends Error {
  override readonly name = 'PermanentJobError';
}

export const defineJobType = <S extends z.ZodType>(type: JobType<S>): JobType<S> => type;

/** A payload field under another name (a seed's spelling) moves to the field the type uses. */
export function withAlias(raw: unknown, alias: string, field: string): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const { [alias]: value, ...rest } = raw as Record<string, unknown>;
  if (value === undefined || rest[field] !== undefined) return raw;
  return { ...rest, [field]: value };
}
