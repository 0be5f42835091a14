/**
 * The request and response shapes of the factory's HTTP API, as the handlers in functions/api
 * write them. Declared here (not imported from the server) so the client has no runtime or
 * type dependency on the server's code; test/unit/client-types.test.ts checks they stay
 * compatible with the zod schemas that validate the requests.
 */

export type JobStatus =
  | 'PENDING'
  | 'QUEUED'
  | 'RUNNING'
  | 'RETRYING'
  | 'COMPLETED'
  | 'FAILED'
  | 'DEAD'
  | 'CANCELLED';

/** A job in one of these states never runs again on its own. */
export const finishedJobStatuses: readonly JobStatus[] = ['COMPLETED', 'DEAD', 'CANCELLED'];

export type OrderStatus = 'PENDING' | 'IN_PROGRESS' | 'COMPLETED' | 'FAILED' | 'CANCELLED';
export const finishedOrderStatuses: readonly OrderStatus[] = ['COMPLETED', 'FAILED', 'CANCELLED'];

/** 0 (most urgent) to 10, or a name. */
export type Priority = number | 'critical' | 'high' | 'normal' | 'low';

export interface Backoff {
  /** adaptive: retries decided from the type's history of the error (docs/intelligence.md). */
  type?: 'exponential' | 'linear' | 'fixed' | 'none' | 'adaptive';
  delayMs?: number;
  maxDelayMs?: number;
  jitter?: boolean;
  /** adaptive only: the estimated chance of recovery below which the job goes DEAD now. */
  minSuccessProbability?: number;
}

/** The body of POST /jobs (functions/domain/job-submission.ts, jobRequestSchema). */
export interface JobSubmission {
  queue: string;
  type: string;
  payload?: Record<string, unknown>;
  priority?: Priority;
  maxAttempts?: number;
  backoff?: Backoff;
  delayMs?: number;
  runAt?: string;
  dependsOn?: readonly string[];
  idempotencyKey?: string;
  timeoutMs?: number;
  /** A name other jobs of the same bulk request can list in dependsOn. */
  ref?: string;
}

/** POST /jobs → 202 (200 when the idempotency key matched a job). */
export interface AcceptedJob {
  jobId: string;
  status: JobStatus;
  duplicate: boolean;
  jobUrl?: string;
  [field: string]: unknown;
}

/** POST /jobs/bulk → 202; FactoryClient.submitJobs sums the chunks. */
export interface BulkAccepted {
  accepted: number;
  duplicates: number;
  jobs: AcceptedJob[];
}

/** A job as GET /jobs/{id} shows it (functions/domain/jobs.ts, publicJobView). */
export interface Job {
  jobId: string;
  kind: 'step' | 'job';
  queue: string;
  type: string;
  status: JobStatus;
  attempts: number;
  maxAttempts: number;
  priority: number;
  orderId?: string;
  stepName?: string;
  workerId?: string;
  createdAt: string;
  updatedAt?: string;
  startedAt?: string;
  completedAt?: string;
  deadAt?: string;
  failedAt?: string;
  cancelledAt?: string;
  cancelReason?: string;
  runAt?: string;
  payload?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: string;
  dependsOn?: string[];
  waitingOn?: string[];
  dependents?: string[];
  batchId?: string;
  progress?: { percent?: number; message?: string; [field: string]: unknown };
  [field: string]: unknown;
}

export interface JobPage {
  jobs: Job[];
  nextCursor: string | null;
}

export interface ListJobsQuery {
  queue?: string;
  status?: JobStatus;
  type?: string;
  /** 1–200, default 50. */
  limit?: number;
  cursor?: string;
}

/** DELETE /jobs/{id}: the cancelled job (200), or a stop request for a running one (202). */
export type CancelledJob =
  | Job
  | { jobId: string; status: 'RUNNING'; cancelRequested: true; message: string; [field: string]: unknown };

export interface RetriedJob extends Job {
  resumedOrder?: { orderId: string; execution: string; statusUrl: string };
}

export interface JobLogEntry {
  timestamp: string;
  level: string;
  message: string;
  attempt?: number;
  workerId?: string;
  [field: string]: unknown;
}

export interface JobLogs {
  jobId: string;
  logs: JobLogEntry[];
}

/** The body of POST /orders (functions/domain/orders.ts, orderRequestSchema). */
export interface OrderRequest {
  customerId: string;
  robotType: string;
  specifications: Record<string, unknown>;
  priority?: Priority;
  simulate?: {
    stepDurationMs?: number;
    failures?: Record<string, number | 'always'>;
  };
}

export interface AcceptedOrder {
  orderId: string;
  status: OrderStatus;
  statusUrl: string;
}

export interface OrderStep {
  name: string;
  jobId: string;
  status: JobStatus;
  attempts: number;
  startedAt: string | null;
  completedAt: string | null;
  error?: string;
}

/** GET /orders/{id}/status (functions/domain/orders.ts, orderStatusView). */
export interface OrderStatusView {
  orderId: string;
  customerId: string;
  robotType: string;
  priority: number;
  status: OrderStatus;
  /** 0–100. */
  progress: number;
  steps: OrderStep[];
  createdAt: string;
  startedAt?: string;
  completedAt?: string;
  failedAt?: string;
  error?: string;
  [field: string]: unknown;
}

export interface DeadJobFilter {
  queue?: string;
  type?: string;
  errorContains?: string;
}

/** POST /dlq/retry: ids, or a filter (`all: true` to retry every dead job). */
export type DlqRetryRequest = { jobIds: string[] } | (DeadJobFilter & { all?: true; limit?: number });

export interface DlqRetryResult {
  matched: number;
  retried: number;
  jobIds: string[];
  skipped: { jobId: string; reason: string; [field: string]: unknown }[];
}

/** GET /jobs/stats?queue=: a queue's live counts (kept off the jobs table's stream; they lag by a second or two). */
export interface QueueStats {
  queue?: string;
  waiting: number;
  delayed: number;
  blocked: number;
  active: number;
  completed: number;
  failed: number;
  dead: number;
  cancelled: number;
  [field: string]: unknown;
}

export interface QueueInfo {
  name: string;
  kind: string;
  jobTypes: string[];
  concurrency: unknown;
  bands: unknown;
  rateLimit: { limit: number; windowMs: number } | null;
  paused: boolean;
  pausedAt?: string;
  pausedBy?: string;
  pauseReason?: string | null;
  [field: string]: unknown;
}

export interface WorkerInfo {
  workerId: string;
  queue: string;
  status: 'idle' | 'busy' | 'lost';
  currentJobId: string | null;
  startedAt?: string;
  lastHeartbeatAt?: string;
  jobsProcessed: number;
  failures: number;
  memoryUsedMb: number | null;
}

export interface QueueWorkers {
  queue: string;
  summary: {
    activeWorkers: number;
    busy: number;
    idle: number;
    lost: number;
    configuredConcurrency: number;
    bands: unknown;
    paused: boolean;
    scaling: unknown;
  };
  workers: WorkerInfo[];
}

export interface WorkersStatus {
  at: string;
  queues: QueueWorkers[];
}

/** POST /workers/scale: pin a concurrency, or hand the queue back to the autoscaler. */
export type ScaleRequest =
  | { queue: string; concurrency: number; mode?: 'manual'; reason?: string }
  | { queue: string; mode: 'auto'; min?: number; max?: number; reason?: string };

export interface ScalingEvent {
  queue: string;
  at: string;
  from: number;
  to: number;
  by: string;
  reason: string;
  source: string;
  mode: 'manual' | 'auto';
  bands: unknown;
  bounds?: { min: number; max: number };
}

export type Role = 'viewer' | 'developer' | 'admin';

export interface ApiKeyView {
  keyId: string;
  name: string;
  role: Role;
  createdAt: string;
  createdBy?: string;
  lastUsedAt?: string;
  revokedAt?: string;
  [field: string]: unknown;
}

export interface IssuedApiKey extends ApiKeyView {
  /** The secret: shown only in this answer. */
  key: string;
  note?: string;
}

export interface RealtimeTicket {
  ticket: string;
  url: string;
  expiresAt: string;
  role: Role;
  keyName: string | null;
}

/** One state change (docs/events.md). */
export interface FactoryEvent {
  id: string;
  type: string;
  at: string;
  queue?: string;
  jobId?: string;
  orderId?: string;
  data: Record<string, unknown>;
  key: string;
}

/** The error envelope of every 4xx/5xx: `{"error":{"code","message","details"}}`. */
export interface ErrorEnvelope {
  error: { code: string; message: string; details?: unknown };
}
