/**
 * The jobs table's layout, in one place: its key, its indexes and the builders of every derived
 * key. The table's writer (job-engine-store.ts), its readers (job-queries.ts), the stack
 * (factory-tables.ts) and the state machine's one direct write (assembly-workflow.ts) all take
 * them from here, so no one re-derives a key by hand. No SDK import: the stack loads it too.
 */
import { createHash } from 'node:crypto';
import { isProductionLine, type PriorityBand } from '#domain/job-queues';
import type { JobStatus } from '#domain/jobs';

export const jobsTableKey = 'jobId';

/** Index attribute types, as DynamoDB names them. */
type KeyType = 'S' | 'N';
export interface JobIndex {
  readonly partitionKey: { readonly name: string; readonly type: KeyType };
  readonly sortKey: { readonly name: string; readonly type: KeyType };
  /** ALL when absent; KEYS_ONLY; or the non-key attributes to include. */
  readonly projection?: 'KEYS_ONLY' | readonly string[];
  /** Why the index exists. */
  readonly purpose: string;
}

export const jobIndexes = {
  byOrder: {
    partitionKey: { name: 'orderId', type: 'S' },
    sortKey: { name: 'stepName', type: 'S' },
    purpose: "an order's step rows",
  },
  byQueueStatus: {
    partitionKey: { name: 'queueStatus', type: 'S' },
    sortKey: { name: 'createdAt', type: 'S' },
    purpose:
      'listings, the dead-letter queue, counts, and lease recovery (the RUNNING partitions): one partition per queue and state',
  },
  dispatchDue: {
    partitionKey: { name: 'dispatchShard', type: 'S' },
    sortKey: { name: 'dispatchAt', type: 'S' },
    projection: 'KEYS_ONLY',
    purpose: "sparse: the dispatcher's unconfirmed sends and follow-ups",
  },
  ready: {
    partitionKey: { name: 'readyKey', type: 'S' },
    sortKey: { name: 'readyRank', type: 'S' },
    projection: ['runAt'],
    purpose: 'sparse: runnable standalone jobs per queue and band, by priority then due time',
  },
} as const satisfies Record<string, JobIndex>;
export type JobIndexName = keyof typeof jobIndexes;

export const listingIndex: JobIndexName = 'byQueueStatus';
export const dispatchIndex: JobIndexName = 'dispatchDue';
export const readyIndex: JobIndexName = 'ready';
export const jobsByOrderIndex: JobIndexName = 'byOrder';

/** The listing index's partition key: one partition per queue and state. */
export const queueStatusKey = (queue: string, status: JobStatus | 'DISCARDED'): string =>
  `${queue}#${status}`;

/**
 * A job queue's QUEUED job is found through the ready index alone, with no listing entry until
 * its claim puts one in `<queue>#RUNNING`: an entry in and moved out again cost 3 write units a
 * job, the claim's put costs 1 (docs/cost-model.md, item 8). Its listing reads `ready`
 * (job-queries.ts). A production line's steps are not on `ready`: they keep theirs.
 */
export const queuedThroughReady = (queue: string, status: JobStatus | 'DISCARDED'): boolean =>
  status === 'QUEUED' && !isProductionLine(queue);

/** The ready index's partition: one per queue and band. */
export const readyKeyOf = (queue: string, band: PriorityBand): string => `${queue}#${band}`;

// Sparse indexes are split over a few partition keys so no single key takes every write.
const shards = 4;
const shardOf = (jobId: string, prefix: string) =>
  `${prefix}${(createHash('md5').update(jobId).digest()[0] ?? 0) % shards}`;
/**
 * Rows written before lease recovery read the listing index still carry `leaseShard` (the key of
 * a `leases` index, now gone): settles and cancels remove it with the lease.
 */
export const retiredLeaseKey = 'leaseShard';
export const dispatchShardOf = (jobId: string) => shardOf(jobId, 'd');
export const dispatchShards = Array.from({ length: shards }, (_, i) => `d${i}`);

/**
 * An intake marker's row key (domain/job-intake.ts): in the jobs table, beside the rows it
 * covers, found by the dispatcher through the same dispatch index as row markers. Job ids start
 * with `job_` or an order id, so the prefix cannot name a job.
 */
export const intakeMarkerPrefix = 'intake#';
export const intakeMarkerKey = (markerId: string): string => `${intakeMarkerPrefix}${markerId}`;
export const isIntakeMarkerKey = (key: string): boolean => key.startsWith(intakeMarkerPrefix);

/**
 * A request-level idempotency key's row (domain/job-intake.ts, `RequestKeys`): the key hashed, so
 * a header of any length makes a short row key; the prefix cannot name a job either.
 */
export const requestKeyRowKey = (requestKey: string): string =>
  `request#${createHash('sha256').update(requestKey).digest('hex')}`;

/** A step job's id from its order and step (`stepJobId`), as a Step Functions format string. */
export const stepJobIdFormat = (stepName: string): string => `{}.${stepName}`;

/**
 * The workflow's record of a step that gave up (DEAD), written by the state machine itself: its
 * update and condition, with the value names the state machine fills (`:queueDead` from
 * `queueStatusKey(line, 'DEAD')`). It leaves the lease index like every settle does.
 */
export const stepDeadRecord = {
  updateExpression:
    'SET #status = :dead, queueStatus = :queueDead, deadAt = :at, updatedAt = :at, failureKind = :kind, orderId = :orderId, stepName = :step, ' +
    'robotType = :robotType, #type = :type, queue = :queue, kind = :stepKind, maxAttempts = if_not_exists(maxAttempts, :max), ' +
    'attempts = if_not_exists(attempts, :zero), createdAt = if_not_exists(createdAt, :at), ' +
    'lastError = if_not_exists(lastError, :cause) REMOVE leaseExpiresAt, leaseShard, taskToken',
  conditionExpression: 'attribute_not_exists(#status) OR #status <> :completed',
  expressionAttributeNames: { '#status': 'status', '#type': 'type' },
} as const;
