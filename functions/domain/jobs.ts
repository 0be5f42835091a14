/**
 * The job model shared by robot steps and (later) standalone jobs. Every change of `status` is a
 * conditional write in the job store, so a duplicate delivery or a late worker cannot move a job
 * backwards.
 */
export const jobStatuses = [
  'PENDING',
  'QUEUED',
  'RUNNING',
  'RETRYING',
  'COMPLETED',
  'FAILED',
  'DEAD',
  'CANCELLED',
] as const;
export type JobStatus = (typeof jobStatuses)[number];

/** A job in one of these states never runs again on its own. */
export const finishedJobStatuses: readonly JobStatus[] = ['COMPLETED', 'DEAD', 'CANCELLED'];

export interface JobRecord {
  readonly jobId: string;
  readonly kind: 'step';
  readonly queue: string;
  readonly type: string;
  readonly status: JobStatus;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly priority: number;
  readonly orderId?: string;
  readonly robotType?: string;
  readonly stepName?: string;
  readonly workerId?: string;
  /** Hash of the Step Functions task token of the current attempt: the attempt's identity. */
  readonly attemptToken?: string;
  readonly leaseExpiresAt?: number;
  readonly createdAt: string;
  readonly updatedAt?: string;
  readonly startedAt?: string;
  readonly completedAt?: string;
  readonly deadAt?: string;
  readonly lastError?: string;
  readonly result?: Record<string, unknown>;
}

export interface JobLogEntry {
  readonly timestamp: string;
  readonly level: 'INFO' | 'WARN' | 'ERROR';
  readonly message: string;
  readonly attempt: number;
  readonly workerId: string;
}

/** What the API shows of a job: internal bookkeeping (token hash, lease) stays inside. */
export function publicJobView(job: JobRecord) {
  const { attemptToken: _token, leaseExpiresAt: _lease, lastError, ...rest } = job;
  return { ...rest, ...(lastError ? { error: lastError } : {}) };
}

/** Deterministic so that the workflow, the workers and the API agree on it without a lookup. */
export const stepJobId = (orderId: string, stepName: string): string => `${orderId}.${stepName}`;
