/**
 * The request and response shapes of the factory's HTTP API. The answers' types are the
 * OpenAPI document's (GET /openapi.json), generated into ./generated/openapi.ts by
 * `npm run client:types` from the zod schemas the routes declare, so the client has no runtime
 * or type dependency on the server's code. The requests' types are written here, as a caller
 * would write them (a union per form, priority names); test/unit/client-types.test.ts checks
 * they fit the document's request bodies and the server's zod schemas.
 */
import type { components } from './generated/openapi.ts';

type Schemas = components['schemas'];

export type JobStatus = Schemas['JobStatus'];

/** A job in one of these states never runs again on its own. */
export const finishedJobStatuses: readonly JobStatus[] = ['COMPLETED', 'DEAD', 'CANCELLED'];

export type OrderStatus = Schemas['OrderStatus'];
export const finishedOrderStatuses: readonly OrderStatus[] = ['COMPLETED', 'FAILED', 'CANCELLED'];

export type Role = Schemas['Role'];

// ── Requests ──────────────────────────────────────────────────────────────────────────────────

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

export interface ListJobsQuery {
  queue?: string;
  status?: JobStatus;
  type?: string;
  /** 1–200, default 50. */
  limit?: number;
  cursor?: string;
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

export interface DeadJobFilter {
  queue?: string;
  type?: string;
  errorContains?: string;
}

/** POST /dlq/retry: ids, or a filter (`all: true` to retry every dead job). */
export type DlqRetryRequest = { jobIds: string[] } | (DeadJobFilter & { all?: true; limit?: number });

/** POST /workers/scale: pin a concurrency, or hand the queue back to the autoscaler. */
export type ScaleRequest =
  | { queue: string; concurrency: number; mode?: 'manual'; reason?: string }
  | { queue: string; mode: 'auto'; min?: number; max?: number; reason?: string };

// ── Answers (generated from the OpenAPI document) ─────────────────────────────────────────────

/** POST /jobs → 202 (200 when the idempotency key matched a job). */
export type AcceptedJob = Schemas['AcceptedJob'];

/** POST /jobs/bulk → 202; FactoryClient.submitJobs sums the chunks. */
export type BulkAccepted = Schemas['BulkAccepted'];

/** A job as GET /jobs/{id} shows it (functions/domain/jobs.ts, publicJobView). */
export type Job = Schemas['Job'];

export type JobPage = Schemas['JobPage'];

/** DELETE /jobs/{id}: the cancelled job (200), or a stop request for a running one (202). */
export type CancelledJob = Job | Schemas['CancelRequested'];

export type RetriedJob = Schemas['RetriedJob'];

export type JobLogEntry = Schemas['JobLogEntry'];

export type JobLogs = Schemas['JobLogs'];

export type AcceptedOrder = Schemas['AcceptedOrder'];

export type OrderStep = Schemas['OrderStep'];

/** GET /orders/{id}/status (functions/domain/orders.ts, orderStatusView). */
export type OrderStatusView = Schemas['OrderStatusView'];

/** GET /orders: newest first within each state. */
export type OrderPage = Schemas['OrderPage'];

/** DELETE /orders/{id}: the order CANCELLED, and what became of its steps. */
export type CancelledOrder = Schemas['CancelledOrder'];

/** POST /orders/{id}/retry → 202: a FAILED order resumed from its failed steps. */
export type ResumedOrder = Schemas['ResumedOrder'];

export type DlqRetryResult = Schemas['DlqRetryResult'];

/** GET /jobs/stats?queue=: live counts by state (kept off the jobs table's stream; they lag by a second or two). */
export type QueueStats = Schemas['JobStats'];

export type QueueInfo = Schemas['QueueInfo'];

export type WorkerInfo = Schemas['WorkerInfo'];

export type QueueWorkers = Schemas['QueueWorkers'];

export type WorkersStatus = Schemas['WorkersStatus'];

export type ScalingEvent = Schemas['ScalingEvent'];

export type ApiKeyView = Schemas['ApiKeyView'];

/** POST /api-keys → 201: the key itself is shown only in this answer. */
export type IssuedApiKey = Schemas['IssuedApiKey'];

/** DELETE /api-keys/{id}: the key revoked. */
export type RevokedApiKey = Schemas['RevokedApiKey'];

export type RealtimeTicket = Schemas['RealtimeTicket'];

/** One state change (docs/events.md): GET /events, and each frame the WebSocket pushes. */
export type FactoryEvent = Schemas['FactoryEvent'];

/** The error envelope of every 4xx/5xx: `{"error":{"code","message","details"}}`. */
export type ErrorEnvelope = Schemas['Error'];
