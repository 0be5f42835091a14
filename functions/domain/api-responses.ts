/**
 * The answers of the HTTP API, as zod schemas: each route declares its success bodies with them
 * (`responses` of httpRoute, functions/shared/http.ts), GET /openapi.json documents them
 * (infra/openapi/) and the typed client's types are generated from that document
 * (client/src/generated/openapi.ts). They describe what the handlers and the domain views they
 * call (publicJobView, orderStatusView, …) write; nothing validates answers at run time, so
 * test/unit/response-contract.test.ts checks the views against them and the contract
 * integration test checks real answers.
 *
 * A schema with an `id` is a named component of the document (and a type of the client). Views
 * that spread a stored row (a job, a key, a scaling event) are open objects: a field the row gains
 * shows up before it is named here. Views built field by field are closed.
 */
import * as z from 'zod';
import { roles } from './access.ts';
import { eventTypes } from './factory-events.ts';
import { jobStatuses } from './jobs.ts';
import { orderStatuses } from './orders.ts';

export const count = z.int().min(0);
/** An ISO 8601 time, as `Date.prototype.toISOString` writes it. */
export const isoTime = z.string().meta({ format: 'date-time' });
const nextCursor = z.string().nullable().describe('Pass as `cursor` for the next page; null on the last');

export const jobStatusSchema = z.enum(jobStatuses).meta({ id: 'JobStatus' });
export const orderStatusSchema = z.enum(orderStatuses).meta({ id: 'OrderStatus' });
export const apiRoleSchema = z.enum(roles).meta({ id: 'Role' });

// ── Jobs ─────────────────────────────────────────────────────────────────────────────────────

const backoffView = z.looseObject({
  type: z.enum(['exponential', 'linear', 'fixed', 'none', 'adaptive']),
  delayMs: z.number().optional(),
  maxDelayMs: z.number().optional(),
  jitter: z.boolean().optional(),
  minSuccessProbability: z.number().optional(),
});

/** A job as every route shows it (domain/jobs.ts, publicJobView): secrets redacted. */
export const jobViewSchema = z
  .looseObject({
    jobId: z.string(),
    kind: z.enum(['step', 'job']).describe('A robot assembly step, or a standalone job'),
    queue: z.string(),
    type: z.string(),
    status: jobStatusSchema,
    attempts: count,
    maxAttempts: count,
    priority: z.int().min(0).max(10),
    createdAt: isoTime,
    updatedAt: isoTime.optional(),
    startedAt: isoTime.optional(),
    completedAt: isoTime.optional(),
    failedAt: isoTime.optional(),
    deadAt: isoTime.optional(),
    cancelledAt: isoTime.optional(),
    cancelReason: z.string().optional(),
    cancelRequestedAt: isoTime.optional(),
    discardedAt: isoTime.optional(),
    runAt: isoTime.optional().describe('When the next attempt may start'),
    orderId: z.string().optional(),
    robotType: z.string().optional(),
    stepName: z.string().optional(),
    workerId: z.string().optional(),
    payload: z.record(z.string(), z.unknown()).optional(),
    result: z.record(z.string(), z.unknown()).optional(),
    error: z.string().optional().describe("The last attempt's error"),
    backoff: backoffView.optional(),
    timeoutMs: z.number().optional(),
    dependsOn: z.array(z.string()).optional(),
    waitingOn: z.array(z.string()).optional().describe('Dependencies not yet COMPLETED'),
    dependents: z.array(z.string()).optional().describe('Jobs waiting for this one'),
    batchId: z.string().optional(),
    idempotencyKey: z.string().optional(),
    manualRetries: count.optional(),
    progress: z
      .looseObject({ percent: z.number().min(0).max(100), message: z.string().optional(), at: isoTime })
      .optional()
      .describe("The running attempt's progress"),
  })
  .meta({ id: 'Job' });

export const jobPageSchema = z.object({ jobs: z.array(jobViewSchema), nextCursor }).meta({ id: 'JobPage' });

/** One job of a submission (domain/job-intake.ts, Accepted). */
export const submittedJobSchema = z
  .object({
    jobId: z.string(),
    status: jobStatusSchema,
    duplicate: z.boolean().describe('The idempotency key matched a job: nothing new was stored'),
  })
  .meta({ id: 'SubmittedJob' });

const predictionSchema = z
  .object({
    successProbability: z.number().min(0).max(1),
    expectedDurationMs: z.number().nullable(),
    reasons: z.array(z.string()),
  })
  .meta({ id: 'JobPrediction' });

export const acceptedJobSchema = submittedJobSchema
  .extend({
    jobUrl: z.string(),
    prediction: predictionSchema.nullable().optional().describe('With `"predict": true`'),
    predictionUnavailable: z.string().optional().describe('Why there is no prediction (no model yet)'),
  })
  .meta({ id: 'AcceptedJob' });

export const predictionAnswerSchema = predictionSchema
  .extend({ queue: z.string(), type: z.string() })
  .meta({ id: 'PredictionAnswer' });

export const bulkAcceptedSchema = z
  .object({ accepted: count, duplicates: count, jobs: z.array(submittedJobSchema) })
  .meta({ id: 'BulkAccepted' });

/** Seed 004's answer to POST /api/v1/jobs. */
export const v1AcceptedJobSchema = submittedJobSchema
  .extend({
    queuePosition: z.int().min(1).nullable().describe('Jobs waiting in its band queue, itself included'),
    jobUrl: z.string(),
  })
  .meta({ id: 'V1AcceptedJob' });

export const cancelRequestedSchema = z
  .object({
    jobId: z.string(),
    status: z.literal('RUNNING'),
    cancelRequested: z.literal(true),
    message: z.string(),
  })
  .meta({ id: 'CancelRequested' });

export const retriedJobSchema = jobViewSchema
  .extend({
    resumedOrder: z
      .object({ orderId: z.string(), execution: z.string(), statusUrl: z.string() })
      .optional()
      .describe('A robot step: the order it resumed'),
  })
  .meta({ id: 'RetriedJob' });

export const jobLogEntrySchema = z
  .object({
    timestamp: isoTime,
    level: z.enum(['INFO', 'WARN', 'ERROR']),
    message: z.string(),
    attempt: z.int().min(0).optional(),
    workerId: z.string().optional(),
  })
  .meta({ id: 'JobLogEntry' });

export const jobLogsSchema = z
  .object({ jobId: z.string(), logs: z.array(jobLogEntrySchema) })
  .meta({ id: 'JobLogs' });

const stateCounts = {
  waiting: count,
  active: count,
  completed: count,
  failed: count,
  dead: count,
  delayed: count,
  blocked: count,
  cancelled: count,
};

/** GET /jobs/stats: the counts of every queue asked for, summed, and each queue's. */
export const jobStatsSchema = z
  .object({
    at: isoTime,
    ...stateCounts,
    queues: z.array(z.object({ queue: z.string(), ...stateCounts }).meta({ id: 'QueueCounts' })),
  })
  .meta({ id: 'JobStats' });

const bandCounts = z
  .object({
    waiting: count,
    delayed: count,
    blocked: count,
    running: count,
    dead: count,
    oldestWaitingAgeMs: z.number().nullable(),
  })
  .meta({ id: 'BandCounts' });

export const queueOverviewSchema = z
  .object({
    at: isoTime,
    queues: z.array(
      bandCounts.extend({
        queue: z.string(),
        kind: z.enum(['job-queue', 'production-line']),
        paused: z.boolean(),
        bands: z.record(z.string(), bandCounts).describe('By priority band (urgent, normal, low)'),
      }),
    ),
  })
  .meta({ id: 'QueueOverview' });

const dependencyGraph = {
  nodes: z.array(
    z.object({
      jobId: z.string(),
      type: z.string(),
      queue: z.string(),
      status: jobStatusSchema,
      runMs: z.number().min(0),
    }),
  ),
  edges: z.array(z.object({ from: z.string(), to: z.string() })),
  criticalPath: z.object({ jobIds: z.array(z.string()), runMs: z.number().min(0) }),
  truncated: z.boolean(),
};

export const jobGraphSchema = z.object({ jobId: z.string(), ...dependencyGraph }).meta({ id: 'JobGraph' });

// ── Batches ──────────────────────────────────────────────────────────────────────────────────

export const acceptedBatchSchema = z
  .object({ batchId: z.string(), name: z.string(), jobIds: z.array(z.string()), batchUrl: z.string() })
  .meta({ id: 'AcceptedBatch' });

export const batchProgressSchema = z
  .object({
    batchId: z.string(),
    name: z.string(),
    createdAt: isoTime,
    total: count,
    completed: count,
    failed: count,
    dead: count,
    pending: count,
    running: count,
    cancelled: count,
    finished: z.boolean(),
    progress: z.int().min(0).max(100),
    jobIds: z.array(z.string()),
  })
  .meta({ id: 'BatchProgress' });

export const batchGraphSchema = z
  .object({ batchId: z.string(), ...dependencyGraph })
  .meta({ id: 'BatchGraph' });

// ── Orders ───────────────────────────────────────────────────────────────────────────────────

export const acceptedOrderSchema = z
  .object({ orderId: z.string(), status: orderStatusSchema, statusUrl: z.string() })
  .meta({ id: 'AcceptedOrder' });

export const orderStepSchema = z
  .object({
    name: z.string(),
    jobId: z.string(),
    status: jobStatusSchema,
    attempts: count,
    startedAt: isoTime.nullable(),
    completedAt: isoTime.nullable(),
    error: z.string().optional(),
  })
  .meta({ id: 'OrderStep' });

/** GET /orders/{id}/status and GET /orders/{id} (domain/orders.ts, orderStatusView). */
export const orderStatusViewSchema = z
  .object({
    orderId: z.string(),
    customerId: z.string(),
    robotType: z.string(),
    priority: z.int().min(0).max(10),
    status: orderStatusSchema,
    progress: z.int().min(0).max(100),
    steps: z.array(orderStepSchema),
    createdAt: isoTime,
    startedAt: isoTime.optional(),
    completedAt: isoTime.optional(),
    failedAt: isoTime.optional(),
    error: z.string().optional(),
    resumes: count.optional(),
    resumedAt: isoTime.optional(),
    cancelledAt: isoTime.optional(),
    cancelledBy: z.string().optional(),
    cancelReason: z.string().optional(),
  })
  .meta({ id: 'OrderStatusView' });

export const cancelledOrderSchema = orderStatusViewSchema
  .extend({
    cancelledSteps: z.object({
      cancelled: z.array(z.string()),
      'stop-requested': z.array(z.string()),
      finished: z.array(z.string()),
    }),
  })
  .meta({ id: 'CancelledOrder' });

export const resumedOrderSchema = z
  .object({
    orderId: z.string(),
    status: orderStatusSchema,
    execution: z.string(),
    retriedSteps: z.array(z.string()),
    statusUrl: z.string(),
  })
  .meta({ id: 'ResumedOrder' });

export const orderSummarySchema = z
  .object({
    orderId: z.string(),
    customerId: z.string(),
    robotType: z.string(),
    priority: z.int().min(0).max(10),
    status: orderStatusSchema,
    createdAt: isoTime,
    completedAt: isoTime.optional(),
    failedAt: isoTime.optional(),
    error: z.string().optional(),
    cancelledAt: isoTime.optional(),
    statusUrl: z.string(),
  })
  .meta({ id: 'OrderSummary' });

export const orderPageSchema = z
  .object({ orders: z.array(orderSummarySchema), nextCursor })
  .meta({ id: 'OrderPage' });

// ── Dead-letter queue ────────────────────────────────────────────────────────────────────────

export const dlqRetryResultSchema = z
  .object({
    matched: count,
    retried: count,
    jobIds: z.array(z.string()).describe('The jobs retried'),
    skipped: z.array(z.object({ jobId: z.string(), reason: z.string() })),
  })
  .meta({ id: 'DlqRetryResult' });

export const deadLetterCausesSchema = z
  .object({
    at: isoTime,
    jobs: count,
    truncated: z.boolean(),
    causes: z.array(
      z.object({
        errorClass: z.string(),
        httpStatusClass: z.enum(['4xx', '5xx']).nullable(),
        count,
        firstSeen: isoTime.nullable(),
        lastSeen: isoTime.nullable(),
        types: z.array(z.string()),
        queues: z.array(z.string()),
        sample: z.object({ jobId: z.string(), error: z.string() }),
      }),
    ),
  })
  .meta({ id: 'DeadLetterCauses' });

// ── Queues ───────────────────────────────────────────────────────────────────────────────────

export const rateLimit = { limit: z.int().min(1), windowMs: z.int().min(1) };

/** An SLA in the form it was set (waitP95Ms, or withinMs and percent), with its meaning. */
export const slaView = {
  waitP95Ms: z.number().optional(),
  withinMs: z.number().optional(),
  percent: z.number().optional(),
  meaning: z.string(),
  updatedAt: isoTime,
  updatedBy: z.string(),
};

export const queueInfoSchema = z
  .object({
    name: z.string(),
    kind: z.enum(['job-queue', 'production-line']),
    description: z.string(),
    jobTypes: z.array(z.string()),
    concurrency: count.describe('Workers over all bands'),
    bands: z.array(
      z.object({
        band: z.string(),
        priorities: z.array(z.int()).describe('[lowest, highest] priority number of the band'),
        concurrency: count,
      }),
    ),
    acceptsSubmissions: z.boolean().describe('Production lines take robot steps only, never POST /jobs'),
    rateLimit: z.object(rateLimit).nullable(),
    sla: z.object(slaView).nullable(),
    paused: z.boolean(),
    pausedAt: isoTime.optional(),
    pausedBy: z.string().optional(),
    pauseReason: z.string().nullable().optional(),
  })
  .meta({ id: 'QueueInfo' });

export const queueListSchema = z.array(queueInfoSchema);

export const queueRateLimitSchema = z
  .object({ queue: z.string(), ...rateLimit, startSpacingMs: z.number() })
  .meta({ id: 'QueueRateLimit' });

export const queueSlaSchema = z.object({ queue: z.string(), ...slaView }).meta({ id: 'QueueSla' });

/** domain/queue-pause.ts, PauseOutcome. */
export const pauseOutcomeSchema = z
  .object({
    queue: z.string(),
    paused: z.boolean(),
    changed: z.boolean().describe('False when it already was'),
    inMaintenance: z.boolean().describe('A maintenance window holds the queue too'),
    pausedAt: isoTime.optional(),
    pausedBy: z.string().optional(),
    reason: z.string().optional(),
  })
  .meta({ id: 'PauseOutcome' });

export const pauseOutcomesSchema = z
  .object({ queues: z.array(pauseOutcomeSchema) })
  .meta({ id: 'PauseOutcomes' });

// ── Workers ──────────────────────────────────────────────────────────────────────────────────

const bounds = z.object({ min: count, max: count });
const bandConcurrency = z.record(z.string(), count).describe('Concurrency by priority band');

export const workerInfoSchema = z
  .object({
    workerId: z.string(),
    queue: z.string(),
    status: z.enum(['idle', 'busy', 'lost']),
    currentJobId: z.string().nullable(),
    startedAt: isoTime.optional(),
    lastHeartbeatAt: isoTime.optional(),
    jobsProcessed: count,
    failures: count,
    memoryUsedMb: z.number().nullable(),
  })
  .meta({ id: 'WorkerInfo' });

/** Who decides a queue's concurrency (domain/worker-scaling.ts, describeMode). */
export const scalingModeSchema = z
  .discriminatedUnion('mode', [
    z.object({
      mode: z.literal('manual'),
      pinnedTo: count.optional(),
      since: isoTime,
      by: z.string(),
      reason: z.string(),
    }),
    z.object({
      mode: z.literal('auto'),
      bounds,
      policy: z.enum(['target-tracking', 'predictive']),
      targetWaitMs: z.number().optional(),
      since: isoTime.optional(),
      by: z.string().optional(),
      reason: z.string().optional(),
    }),
  ])
  .meta({ id: 'ScalingMode' });

export const queueWorkersSchema = z
  .object({
    queue: z.string(),
    summary: z.object({
      activeWorkers: count,
      busy: count,
      idle: count,
      lost: count,
      configuredConcurrency: count,
      bands: bandConcurrency,
      paused: z.boolean(),
      scaling: scalingModeSchema,
    }),
    workers: z.array(workerInfoSchema),
  })
  .meta({ id: 'QueueWorkers' });

export const workersStatusSchema = z
  .object({ at: isoTime, queues: z.array(queueWorkersSchema) })
  .meta({ id: 'WorkersStatus' });

/** A change of a queue's concurrency, by an operator or the autoscaler (as recorded). */
export const scalingEventSchema = z
  .looseObject({
    queue: z.string(),
    at: isoTime,
    from: count,
    to: count,
    by: z.string(),
    reason: z.string(),
    source: z.enum(['manual', 'autoscaler']),
    bands: bandConcurrency.optional(),
    mode: z.enum(['manual', 'auto']).optional().describe('Who decides from now on, when this changed it'),
    bounds: bounds.optional(),
    policy: z.enum(['target-tracking', 'predictive']).optional(),
    targetWaitMs: z.number().optional(),
    rate: z
      .number()
      .optional()
      .describe(
        'Autoscaler, on the way out: jobs the queue completed per second when it decided (the last minute, or the current one when faster)',
      ),
    ceiling: count
      .optional()
      .describe('Autoscaler: a step out that did not raise the rate was undone; the cap'),
    holdUntil: isoTime.optional().describe('Autoscaler: until when the cap holds'),
  })
  .meta({ id: 'ScalingEvent' });

export const scalingEventsSchema = z
  .object({ events: z.array(scalingEventSchema) })
  .meta({ id: 'ScalingEvents' });

// ── Keys and sockets ─────────────────────────────────────────────────────────────────────────

/** domain/access.ts, publicKeyView: the stored key without its hash. */
export const apiKeyViewSchema = z
  .looseObject({
    keyId: z.string(),
    name: z.string(),
    role: apiRoleSchema,
    createdAt: isoTime,
    createdBy: z.string(),
    lastUsedAt: isoTime.optional(),
    revokedAt: isoTime.optional(),
    revokedBy: z.string().optional(),
  })
  .meta({ id: 'ApiKeyView' });

export const apiKeyListSchema = z.object({ keys: z.array(apiKeyViewSchema) }).meta({ id: 'ApiKeyList' });

export const issuedApiKeySchema = z
  .object({
    keyId: z.string(),
    key: z.string().describe('The secret: shown only in this answer'),
    name: z.string(),
    role: apiRoleSchema,
    createdAt: isoTime,
    note: z.string(),
  })
  .meta({ id: 'IssuedApiKey' });

export const revokedApiKeySchema = apiKeyViewSchema
  .extend({ note: z.string() })
  .meta({ id: 'RevokedApiKey' });

export const realtimeTicketSchema = z
  .object({
    ticket: z.string(),
    url: z.string().describe('Open a WebSocket to `url?ticket=<ticket>`'),
    expiresAt: isoTime,
    role: apiRoleSchema,
    keyName: z.string().nullable(),
  })
  .meta({ id: 'RealtimeTicket' });

/** One state change (domain/factory-events.ts): GET /events, the bus and the WebSocket. */
export const factoryEventSchema = z
  .object({
    id: z.string(),
    type: z.enum(eventTypes),
    at: isoTime,
    queue: z.string().optional(),
    jobId: z.string().optional(),
    orderId: z.string().optional(),
    data: z.record(z.string(), z.unknown()),
    key: z.string(),
  })
  .meta({ id: 'FactoryEvent' });

export const eventPageSchema = z
  .object({
    events: z.array(factoryEventSchema),
    nextCursor: z.string().describe('The `after` of the next page'),
  })
  .meta({ id: 'EventPage' });
