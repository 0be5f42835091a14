/**
 * The standalone jobs' writes. Every state change is one conditional UpdateItem whose condition
 * is the state it leaves (and the attempt token for a running job), so duplicates and late
 * workers find the condition false instead of moving a job backwards. The listing key
 * (queueStatus), the marker (dispatchAt) and the lease index key move in the same write.
 */

import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  type BatchWriteCommandInput,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { FailureMark } from '#domain/adaptive-retry';
import type { IntakeMarker, RequestKeyRecord } from '#domain/job-intake';
import type { DispatchPlan, JobClaimRequest, JobEnginePort, Settlement } from '#domain/job-lifecycle';
import type { JobProgress } from '#domain/job-progress';
import { bandOf, type PriorityBand } from '#domain/job-queues';
import { type JobRecord, type JobStatus, startableJobStatuses } from '#domain/jobs';
import { hasSecrets, redact } from '#domain/secrets';
import type { ClaimOutcome, ClaimRequest, StepFinish, StepJobPort } from '#domain/step-attempt';
import { envInt } from '#shared/env';
import {
  asAttributes,
  dynamo,
  dynamoItems,
  fromAttributes,
  isConditionFailure,
  itemsByKey,
  writeUntilProcessed,
} from './aws-clients.ts';
import {
  dispatchShardOf,
  intakeMarkerKey,
  intakeMarkerPrefix,
  jobsByOrderIndex,
  jobsTableKey,
  queuedThroughReady,
  queueStatusKey,
  readyIndex,
  readyKeyOf,
  requestKeyRowKey,
  retiredLeaseKey,
} from './jobs-table.ts';

export interface Retention {
  readonly finishedDays: number;
  readonly deadDays: number;
}

const epochSeconds = (iso: string, days: number) => Math.floor(Date.parse(iso) / 1000) + days * 86_400;

type Update = {
  set: Record<string, unknown>;
  /** Set only where the attribute is absent. */
  setIfMissing?: Record<string, unknown>;
  remove?: string[];
  add?: Record<string, unknown>;
  del?: Record<string, unknown>;
  condition?: string;
  values?: Record<string, unknown>;
};

/**
 * The one update builder of the jobs table: SET / if_not_exists / REMOVE / ADD / DELETE from
 * plain attribute maps, one condition, the row after the write — or undefined when the condition
 * was false (a duplicate, a late worker, a job in another state).
 */
async function updateJobRow(tableName: string, jobId: string, u: Update): Promise<JobRecord | undefined> {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ...u.values };
  const name = (attr: string) => {
    const key = `#${attr.replace(/[^A-Za-z0-9]/g, '_')}`;
    names[key] = attr;
    return key;
  };
  const clauses: string[] = [];
  const sets = Object.entries(u.set).map(([attr, value]) => {
    values[`:set_${attr}`] = value;
    return `${name(attr)} = :set_${attr}`;
  });
  for (const [attr, value] of Object.entries(u.setIfMissing ?? {})) {
    values[`:keep_${attr}`] = value;
    sets.push(`${name(attr)} = if_not_exists(${name(attr)}, :keep_${attr})`);
  }
  if (sets.length) clauses.push(`SET ${sets.join(', ')}`);
  if (u.remove?.length) clauses.push(`REMOVE ${u.remove.map(name).join(', ')}`);
  // ADD and DELETE take "attribute value" pairs.
  for (const [keyword, prefix, pairs] of [
    ['ADD', 'add', u.add],
    ['DELETE', 'del', u.del],
  ] as const) {
    const entries = Object.entries(pairs ?? {});
    if (entries.length === 0) continue;
    const parts = entries.map(([attr, value]) => {
      values[`:${prefix}_${attr}`] = value;
      return `${name(attr)} :${prefix}_${attr}`;
    });
    clauses.push(`${keyword} ${parts.join(', ')}`);
  }
  // Condition attributes are written as #name in the condition text.
  for (const match of (u.condition ?? '').matchAll(/#([A-Za-z_][A-Za-z0-9_]*)/g)) {
    names[`#${match[1]}`] = match[1] as string;
  }
  try {
    // Every claim and settle comes through here: the item client, not the document layer.
    const { Attributes } = await dynamoItems().send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: asAttributes({ jobId }),
        UpdateExpression: clauses.join(' '),
        ...(u.condition ? { ConditionExpression: u.condition } : {}),
        ExpressionAttributeNames: names,
        ...(Object.keys(values).length ? { ExpressionAttributeValues: asAttributes(values) } : {}),
        ReturnValues: 'ALL_NEW',
      }),
    );
    return Attributes && (fromAttributes(Attributes) as JobRecord);
  } catch (error) {
    if (isConditionFailure(error)) return undefined;
    throw error;
  }
}

/** A row of the jobs table as a job; intake markers and request keys share the table and are not jobs. */
const asJob = (item: Record<string, unknown> | undefined): JobRecord | undefined =>
  item && item.kind !== 'intake' && item.kind !== 'request' ? (item as unknown as JobRecord) : undefined;

/** The later of a job's due time and the moment it became runnable (ISO strings sort by time). */
const laterOf = (runAt: string | undefined, at: string): string =>
  runAt !== undefined && runAt > at ? runAt : at;

export class JobEngineStore implements JobEnginePort {
  /** @param secretFieldsOf the payload paths a job type declares secret (dropped once a job is done) */
  constructor(
    private readonly tableName: string,
    private readonly retention: Retention,
    private readonly secretFieldsOf: (type: string) => readonly string[] = () => [],
  ) {}

  /** A job that will not run again keeps no secrets: its stored payload is redacted. */
  private withoutSecrets(job: JobRecord): { payload?: unknown } {
    const paths = this.secretFieldsOf(job.type);
    return job.payload !== undefined && hasSecrets(job.payload, paths)
      ? { payload: redact(job.payload, paths) }
      : {};
  }

  private update(jobId: string, u: Update): Promise<JobRecord | undefined> {
    return updateJobRow(this.tableName, jobId, u);
  }

  private statusFields(job: Pick<JobRecord, 'queue'>, status: JobStatus, at: string) {
    return { status, queueStatus: queueStatusKey(job.queue, status), updatedAt: at };
  }

  /**
   * A waiting job's state, back on `ready`: a job queue's QUEUED job leaves the listing index
   * (jobs-table.ts, `queuedThroughReady`), any other keeps its partition there.
   */
  private waitingFields(job: Pick<JobRecord, 'queue'>, status: 'QUEUED' | 'PENDING', at: string) {
    return queuedThroughReady(job.queue, status)
      ? { set: { status, updatedAt: at }, remove: ['queueStatus'] }
      : { set: this.statusFields(job, status, at), remove: [] };
  }

  private marker(jobId: string, dispatchAt: string) {
    return { dispatchAt, dispatchShard: dispatchShardOf(jobId) };
  }

  /**
   * The ready-index keys of a runnable job (domain/job-lifecycle.ts, claimBest), ranked from when
   * it became runnable (`laterOf`: a job submitted with a past runAt, a dependent released now, is
   * not overdue — held-wake-ups.ts and claimBest take overdue jobs for ones whose wake-up is held).
   */
  private ready(job: Pick<JobRecord, 'jobId' | 'queue' | 'priority'>, runAt: string) {
    return {
      readyKey: readyKeyOf(job.queue, bandOf(job.priority)),
      readyRank: `${String(job.priority).padStart(2, '0')}#${runAt}#${job.jobId}`,
    };
  }

  async readyAhead(queue: string, band: PriorityBand, priority: number, now: Date, limit: number) {
    // The head of a band is often attempts running in their first, unlisted second (each keeps
    // its entry until listed or settled, claim's comment): they are dropped by their rows, read
    // eventually consistent with BatchGetItem, so that a worker does not give way to work already
    // taken (a wake-up sent again, a claim that fails) — and the band is read on past them, page by
    // page (a few at most: running attempts are bounded by the band's concurrency), so that they
    // do not hide better work still waiting behind them.
    const waiting: string[] = [];
    let startKey: Record<string, unknown> | undefined;
    for (let page = 0; page < 5 && waiting.length < limit; page++) {
      const { Items = [], LastEvaluatedKey } = await dynamo().send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: readyIndex,
          KeyConditionExpression: 'readyKey = :key AND readyRank < :rank',
          FilterExpression: 'runAt <= :now',
          ExpressionAttributeValues: {
            ':key': readyKeyOf(queue, band),
            ':rank': String(priority).padStart(2, '0'),
            ':now': now.toISOString(),
          },
          // Jobs of a better priority that are not due yet are read and filtered: read a few more.
          Limit: Math.max(limit * 4, 12),
          ExclusiveStartKey: startKey,
        }),
      );
      const due = Items.map((item) => item.jobId as string);
      if (due.length > 0) {
        const rows = await itemsByKey(this.tableName, jobsTableKey, due, { consistent: false });
        const running = new Set(
          rows.filter((row) => row.status === 'RUNNING').map((row) => row.jobId as string),
        );
        waiting.push(...due.filter((jobId) => !running.has(jobId)));
      }
      if (!LastEvaluatedKey) break;
      startKey = LastEvaluatedKey;
    }
    return waiting.slice(0, limit);
  }

  async get(jobId: string): Promise<JobRecord | undefined> {
    const { Item } = await dynamo().send(
      new GetCommand({ TableName: this.tableName, Key: { jobId }, ConsistentRead: true }),
    );
    return asJob(Item);
  }

  /** The rows of the jobs (strongly consistent unless asked otherwise: half the read units). */
  async getMany(
    jobIds: readonly string[],
    options: { consistent: boolean } = { consistent: true },
  ): Promise<Map<string, JobRecord>> {
    const found = new Map<string, JobRecord>();
    for (const item of await itemsByKey(this.tableName, jobsTableKey, jobIds, options)) {
      const job = asJob(item);
      if (job) found.set(job.jobId, job);
    }
    return found;
  }

  /** The row of a job as intake stores it. */
  private newRow(job: JobRecord, plan: DispatchPlan | undefined): Record<string, unknown> {
    const finished = job.status === 'CANCELLED';
    return {
      ...job,
      ...(queuedThroughReady(job.queue, job.status)
        ? {}
        : { queueStatus: queueStatusKey(job.queue, job.status) }),
      ...(plan ? this.marker(job.jobId, plan.dispatchAt) : {}),
      ...(!finished && !job.waitingOn ? this.ready(job, laterOf(job.runAt, job.createdAt)) : {}),
      ...(finished ? { expiresAt: epochSeconds(job.createdAt, this.retention.finishedDays) } : {}),
    };
  }

  /** Stores a new job; false when the id exists (the same idempotency key). */
  async create(job: JobRecord, plan: DispatchPlan | undefined): Promise<boolean> {
    try {
      await dynamo().send(
        new PutCommand({
          TableName: this.tableName,
          Item: this.newRow(job, plan),
          ConditionExpression: 'attribute_not_exists(jobId)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * Stores up to 25 new jobs whose ids were drawn fresh (no idempotency key: no id can exist
   * already, so no condition is needed) in one BatchWriteItem instead of a conditional put each.
   * Items DynamoDB leaves unprocessed (throttling) are written again with backoff; what is still
   * unprocessed after that fails the call, and intake takes the request back.
   */
  async createFresh(jobs: readonly { job: JobRecord; plan: DispatchPlan | undefined }[]): Promise<void> {
    await writeUntilProcessed<NonNullable<BatchWriteCommandInput['RequestItems']>[string][number]>(
      jobs.map(({ job, plan }) => ({ PutRequest: { Item: this.newRow(job, plan) } })),
      async (requests) => {
        const { UnprocessedItems } = await dynamo().send(
          new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }),
        );
        return UnprocessedItems?.[this.tableName];
      },
      'new jobs',
    );
  }

  /**
   * Takes a request-level idempotency key (domain/job-intake.ts) if no row has it. The row is kept
   * as long as the request's jobs can be (the dead-job retention after the latest start), so the
   * same request again always finds it while its jobs exist.
   */
  async takeRequestKey(requestKey: string, leaseUntil: string, lastRunAt: string): Promise<boolean> {
    try {
      await dynamo().send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            jobId: requestKeyRowKey(requestKey),
            kind: 'request',
            leaseUntil,
            expiresAt: epochSeconds(lastRunAt, this.retention.deadDays + 1),
          },
          ConditionExpression: 'attribute_not_exists(jobId)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async getRequestKey(requestKey: string): Promise<RequestKeyRecord | undefined> {
    const { Item } = await dynamo().send(
      new GetCommand({
        TableName: this.tableName,
        Key: { jobId: requestKeyRowKey(requestKey) },
        ConsistentRead: true,
      }),
    );
    if (Item?.kind !== 'request') return undefined;
    return { leaseUntil: Item.leaseUntil as string, released: Item.released === true };
  }

  async releaseRequestKey(requestKey: string): Promise<void> {
    await dynamo()
      .send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { jobId: requestKeyRowKey(requestKey) },
          UpdateExpression: 'SET released = :yes',
          ConditionExpression: 'attribute_exists(jobId)',
          ExpressionAttributeValues: { ':yes': true },
        }),
      )
      .catch((error) => {
        if (!isConditionFailure(error)) throw error;
      });
  }

  /** The intake marker of a request (domain/job-intake.ts), due at the end of its grace. */
  async putIntakeMarker(marker: IntakeMarker): Promise<void> {
    const key = intakeMarkerKey(marker.markerId);
    await dynamo().send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          jobId: key,
          kind: 'intake',
          jobIds: marker.jobIds,
          dispatchAt: marker.dispatchAt,
          dispatchShard: dispatchShardOf(key),
          expiresAt: epochSeconds(marker.dispatchAt, this.retention.finishedDays),
        },
      }),
    );
  }

  async getIntakeMarker(key: string): Promise<IntakeMarker | undefined> {
    const { Item } = await dynamo().send(
      new GetCommand({ TableName: this.tableName, Key: { jobId: key }, ConsistentRead: true }),
    );
    if (Item?.kind !== 'intake') return undefined;
    return {
      markerId: key.slice(intakeMarkerPrefix.length),
      jobIds: Item.jobIds as string[],
      dispatchAt: Item.dispatchAt as string,
    };
  }

  /** Gone once its sends are confirmed; kept if a later request rewrote it meanwhile. */
  async deleteIntakeMarker(marker: IntakeMarker): Promise<void> {
    await dynamo()
      .send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { jobId: intakeMarkerKey(marker.markerId) },
          ConditionExpression: 'dispatchAt = :at',
          ExpressionAttributeValues: { ':at': marker.dispatchAt },
        }),
      )
      .catch((error) => {
        if (!isConditionFailure(error)) throw error;
      });
  }

  /** Intake rollback: the row goes, if it is still exactly as this request wrote it. */
  async withdraw(job: JobRecord): Promise<boolean> {
    try {
      await dynamo().send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { jobId: job.jobId },
          ConditionExpression: 'createdAt = :createdAt AND #status = :status AND attempts = :zero',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':createdAt': job.createdAt, ':status': job.status, ':zero': 0 },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * One conditional update, no read first: the condition is the job being runnable now (a job of
   * this queue, in a startable state, due, not blocked). Only when it is not — a duplicate or an
   * early delivery, a job another worker took — is the row read, to say why.
   *
   * The claim touches no index: the job keeps its `ready` entry (which projects only `runAt`, so
   * the status changing beside it costs nothing there) and gets no listing entry. An attempt that
   * ends within its first second settles straight into its finished partition; one that runs on
   * is listed under `<queue>#RUNNING` by its first heartbeat (`extendLease` with `listAs`). That
   * is 2 of the 5 index writes a job made (docs/cost-model.md, item 10). A row that had a listing
   * entry — written before, or a FAILED job's retry — loses it here.
   */
  async claim(jobId: string, request: JobClaimRequest) {
    const at = request.now.toISOString();
    const startableValues = Object.fromEntries(
      startableJobStatuses.map((status, i) => [`:startable${i}`, status]),
    );
    const job = await this.update(jobId, {
      set: {
        ...(request.listed
          ? this.statusFields({ queue: request.queue }, 'RUNNING', at)
          : { status: 'RUNNING', updatedAt: at }),
        attemptToken: request.token,
        workerId: request.workerId,
        startedAt: at,
        leaseExpiresAt: request.now.getTime() + request.leaseMs,
      },
      add: { attempts: 1 },
      // A new attempt starts from nothing: the last attempt's progress goes.
      remove: [
        'dispatchAt',
        'dispatchShard',
        'cancelRequestedAt',
        'progress',
        ...(request.listed ? ['readyKey', 'readyRank'] : ['queueStatus']),
      ],
      condition: `#kind = :job AND #queue = :queue AND #status IN (${Object.keys(startableValues).join(', ')}) AND #runAt <= :at AND attribute_not_exists(#waitingOn)`,
      values: { ':job': 'job', ':queue': request.queue, ':at': at, ...startableValues },
    });
    return job
      ? { kind: 'claimed' as const, job }
      : { kind: 'not-runnable' as const, job: await this.get(jobId) };
  }

  async extendLease(
    jobId: string,
    token: string,
    until: number,
    listAs?: string,
  ): Promise<'ok' | 'cancel-requested' | 'lost'> {
    // The first beat of an attempt still unlisted moves it from `ready` to the listing's RUNNING
    // partition, where lease recovery and GET /jobs?status=RUNNING find it.
    const job = await this.update(jobId, {
      set: {
        leaseExpiresAt: until,
        ...(listAs ? { queueStatus: queueStatusKey(listAs, 'RUNNING') } : {}),
      },
      ...(listAs ? { remove: ['readyKey', 'readyRank'] } : {}),
      condition: '#attemptToken = :token AND #status = :running',
      values: { ':token': token, ':running': 'RUNNING' },
    });
    if (!job) return 'lost';
    return job.cancelRequestedAt ? 'cancel-requested' : 'ok';
  }

  async recordProgress(jobId: string, token: string, progress: JobProgress): Promise<void> {
    await this.update(jobId, {
      set: { progress },
      condition: '#attemptToken = :token AND #status = :running',
      values: { ':token': token, ':running': 'RUNNING' },
    });
  }

  async settle(job: JobRecord, token: string, settlement: Settlement, now: Date, plan?: DispatchPlan) {
    return this.settleIf(job, token, settlement, now, plan);
  }

  private async settleIf(
    job: JobRecord,
    token: string,
    settlement: Settlement,
    now: Date,
    plan?: DispatchPlan,
    extra?: { condition: string; values: Record<string, unknown> },
  ) {
    const at = now.toISOString();
    const base = this.statusFields(job, settlement.status, at);
    const set: Record<string, unknown> =
      settlement.status === 'COMPLETED'
        ? {
            ...base,
            completedAt: at,
            result: settlement.result,
            ...(settlement.progress ? { progress: settlement.progress } : {}),
            ...(settlement.line ? { settledLine: settlement.line } : {}),
            expiresAt: epochSeconds(at, this.retention.finishedDays),
            ...this.withoutSecrets(job),
          }
        : settlement.status === 'FAILED'
          ? {
              ...base,
              failedAt: at,
              lastError: settlement.error,
              ...this.failureMarks(job, settlement.failure),
              runAt: settlement.runAt,
              ...this.marker(job.jobId, plan?.dispatchAt ?? at),
              ...this.ready(job, settlement.runAt),
            }
          : settlement.status === 'DEAD'
            ? {
                ...base,
                deadAt: at,
                lastError: settlement.error,
                ...this.failureMarks(job, settlement.failure),
                expiresAt: epochSeconds(at, this.retention.deadDays),
              }
            : {
                ...base,
                cancelledAt: at,
                cancelReason: settlement.reason,
                expiresAt: epochSeconds(at, this.retention.finishedDays),
                ...this.withoutSecrets(job),
              };
    const remove = [
      'leaseExpiresAt',
      retiredLeaseKey,
      ...(settlement.status === 'FAILED' ? [] : ['readyKey', 'readyRank']),
    ];
    const condition = `#attemptToken = :token AND #status = :running${extra ? ` AND ${extra.condition}` : ''}`;
    const values = { ':token': token, ':running': 'RUNNING', ...extra?.values };
    if (settlement.status === 'FAILED') return this.update(job.jobId, { set, remove, condition, values });
    // Most jobs have no dependents: settle without a marker; with dependents the marker rides along.
    const plain = await this.update(job.jobId, {
      set,
      remove,
      condition: `${condition} AND attribute_not_exists(#dependents)`,
      values,
    });
    if (plain) return plain;
    return this.update(job.jobId, {
      set: { ...set, ...this.marker(job.jobId, at) },
      remove,
      condition,
      values,
    });
  }

  /** The row's failure marks with this one added (the last 25: an attempt budget's worth). */
  private failureMarks(job: JobRecord, failure: FailureMark | undefined) {
    return failure ? { failures: [...(job.failures ?? []), failure].slice(-25) } : {};
  }

  async clearMarker(jobId: string, dispatchAt: string): Promise<void> {
    await this.update(jobId, {
      set: {},
      remove: ['dispatchAt', 'dispatchShard'],
      condition: '#dispatchAt = :marker',
      values: { ':marker': dispatchAt },
    });
  }

  async moveMarker(jobId: string, from: string, to: string): Promise<void> {
    await this.update(jobId, {
      set: { dispatchAt: to },
      condition: '#dispatchAt = :marker',
      values: { ':marker': from },
    });
  }

  async satisfy(dependentId: string, dependencyId: string): Promise<JobRecord | undefined> {
    const updated = await this.update(dependentId, {
      set: {},
      del: { waitingOn: new Set([dependencyId]) },
      condition: 'contains(#waitingOn, :dependency)',
      values: { ':dependency': dependencyId },
    });
    return updated ?? this.get(dependentId);
  }

  async release(job: JobRecord, now: Date, plan: DispatchPlan): Promise<JobRecord | undefined> {
    const at = now.toISOString();
    const due = Date.parse(job.runAt ?? at) <= now.getTime();
    const status = due ? 'QUEUED' : 'PENDING';
    const waiting = this.waitingFields(job, status, at);
    return this.update(job.jobId, {
      set: {
        ...waiting.set,
        ...this.marker(job.jobId, plan.dispatchAt),
        ...this.ready(job, laterOf(job.runAt, at)),
      },
      remove: waiting.remove,
      condition:
        '#status = :pending AND attribute_not_exists(#waitingOn) AND attribute_not_exists(#dispatchAt)',
      values: { ':pending': 'PENDING' },
    });
  }

  async cancel(job: JobRecord, reason: string, now: Date): Promise<JobRecord | undefined> {
    const at = now.toISOString();
    return this.update(job.jobId, {
      set: {
        ...this.statusFields(job, 'CANCELLED', at),
        cancelledAt: at,
        cancelReason: reason,
        expiresAt: epochSeconds(at, this.retention.finishedDays),
        ...this.withoutSecrets(job),
        // The marker makes the cancellation reach the dependents even if we crash now.
        ...this.marker(job.jobId, at),
      },
      remove: ['waitingOn', 'readyKey', 'readyRank'],
      condition: '#status = :seen',
      values: { ':seen': job.status },
    });
  }

  async register(dependencyId: string, dependentId: string): Promise<'registered' | 'finished'> {
    const updated = await this.update(dependencyId, {
      set: {},
      add: { dependents: new Set([dependentId]) },
      condition: 'attribute_exists(#jobId) AND NOT (#status IN (:completed, :dead, :cancelled))',
      values: { ':completed': 'COMPLETED', ':dead': 'DEAD', ':cancelled': 'CANCELLED' },
    });
    if (updated) return 'registered';
    // Already finished: nothing is released by it any more, but the dependency graph still shows
    // the link from this side (a fast dependency finished before its dependent was submitted).
    await this.update(dependencyId, {
      set: {},
      add: { lateDependents: new Set([dependentId]) },
      condition: 'attribute_exists(#jobId)',
    });
    return 'finished';
  }

  /** Rate limit: the attempt is given back and the job waits for its start slot. */
  async postpone(
    job: JobRecord,
    token: string,
    slotAt: number,
    runAt: string,
    now: Date,
    plan: DispatchPlan,
  ) {
    const queued = this.waitingFields(job, 'QUEUED', now.toISOString());
    return this.update(job.jobId, {
      set: {
        ...queued.set,
        attempts: Math.max(0, job.attempts - 1),
        runAt,
        rateSlotAt: slotAt,
        ...this.marker(job.jobId, plan.dispatchAt),
        ...this.ready(job, runAt),
      },
      remove: ['leaseExpiresAt', retiredLeaseKey, ...queued.remove],
      // A cancel asked while it held its claim is not carried back into line (a claim removes it).
      condition: '#attemptToken = :token AND #status = :running AND attribute_not_exists(#cancelRequestedAt)',
      values: { ':token': token, ':running': 'RUNNING' },
    });
  }

  /** The attempt really starts (after a rate-limit wait): the slot is used up. */
  async markStarted(job: JobRecord, token: string, at: Date) {
    return this.update(job.jobId, {
      set: { startedAt: at.toISOString() },
      remove: ['rateSlotAt'],
      condition: '#attemptToken = :token AND #status = :running',
      values: { ':token': token, ':running': 'RUNNING' },
    });
  }

  /** DELETE /jobs/{id} on a running job: the worker sees it at its next heartbeat. */
  async requestCancel(jobId: string, now: Date): Promise<JobRecord | undefined> {
    return this.update(jobId, {
      set: { cancelRequestedAt: now.toISOString() },
      condition: '#status = :running',
      values: { ':running': 'RUNNING' },
    });
  }

  /** A DEAD or FAILED job back in line, with a fresh attempt budget (the history stays in its log). */
  async rearm(job: JobRecord, now: Date, plan: DispatchPlan): Promise<JobRecord | undefined> {
    const at = now.toISOString();
    return this.update(job.jobId, {
      set: {
        ...this.statusFields(job, 'RETRYING', at),
        attempts: 0,
        runAt: at,
        manualRetries: (job.manualRetries ?? 0) + 1,
        ...this.marker(job.jobId, plan.dispatchAt),
        ...this.ready(job, at),
      },
      // A fresh budget starts a fresh history: the old failures were taught when the job died.
      remove: ['expiresAt', 'deadAt', 'discardedAt', 'failures'],
      condition: '#status = :seen AND #updatedAt = :seenAt',
      values: { ':seen': job.status, ':seenAt': job.updatedAt },
    });
  }

  /**
   * A step job back in line for a resumed workflow. Its attempt count keeps growing (the history
   * stays true) and the resumed execution brings a fresh retry budget, so the budget grows by it.
   */
  async rearmStep(job: JobRecord, now: Date, attemptsAllowed: number): Promise<JobRecord | undefined> {
    const at = now.toISOString();
    return this.update(job.jobId, {
      set: {
        ...this.statusFields(job, 'RETRYING', at),
        manualRetries: (job.manualRetries ?? 0) + 1,
        maxAttempts: (job.attempts ?? 0) + attemptsAllowed,
      },
      remove: ['discardedAt'],
      condition: '#status = :seen',
      values: { ':seen': job.status },
    });
  }

  /**
   * A step of a cancelled order: one that has not started becomes CANCELLED (its row is created
   * if the step never ran, so that a message still in a queue finds it so); a running one is
   * asked to stop, as DELETE /jobs/{id} asks a running job.
   */
  async cancelStep(
    seed: Pick<
      JobRecord,
      'jobId' | 'queue' | 'type' | 'orderId' | 'robotType' | 'stepName' | 'priority' | 'maxAttempts'
    >,
    reason: string,
    at: string,
  ): Promise<'cancelled' | 'stop-requested' | 'finished'> {
    const { jobId, maxAttempts, ...fields } = seed;
    const cancelled = await this.update(jobId, {
      set: {
        ...fields,
        kind: 'step',
        ...this.statusFields(seed, 'CANCELLED', at),
        cancelledAt: at,
        cancelReason: reason,
        expiresAt: epochSeconds(at, this.retention.finishedDays),
      },
      setIfMissing: { attempts: 0, createdAt: at, maxAttempts },
      remove: ['leaseExpiresAt', retiredLeaseKey, 'taskToken'],
      condition: 'attribute_not_exists(#status) OR #status IN (:pending, :queued, :retrying, :failed)',
      values: { ':pending': 'PENDING', ':queued': 'QUEUED', ':retrying': 'RETRYING', ':failed': 'FAILED' },
    });
    if (cancelled) return 'cancelled';
    const stopping = await this.update(jobId, {
      set: { cancelRequestedAt: at, cancelReason: reason },
      condition: '#status = :running',
      values: { ':running': 'RUNNING' },
    });
    return stopping ? 'stop-requested' : 'finished';
  }

  /** DELETE /dlq/{id}: the job leaves the dead-letter view but stays readable until its TTL. */
  async discard(job: JobRecord, now: Date): Promise<JobRecord | undefined> {
    const at = now.toISOString();
    return this.update(job.jobId, {
      set: {
        queueStatus: queueStatusKey(job.queue, 'DISCARDED'),
        discardedAt: at,
        updatedAt: at,
        expiresAt: epochSeconds(at, this.retention.finishedDays),
        ...this.withoutSecrets(job),
      },
      condition: '#status = :dead AND attribute_not_exists(#discardedAt)',
      values: { ':dead': 'DEAD' },
    });
  }

  /** A robot step whose worker stopped heartbeating: the attempt is FAILED (the workflow retries it). */
  async abandonStepAttempt(job: JobRecord, error: string, now: Date): Promise<JobRecord | undefined> {
    const at = now.toISOString();
    return this.update(job.jobId, {
      set: { ...this.statusFields(job, 'FAILED', at), failedAt: at, lastError: error },
      remove: ['leaseExpiresAt', retiredLeaseKey, 'taskToken'],
      condition: '#attemptToken = :token AND #status = :running AND #leaseExpiresAt < :now',
      values: { ':token': job.attemptToken, ':running': 'RUNNING', ':now': now.getTime() },
    });
  }

  /** The lease sweeper's verdict on an attempt whose worker stopped heartbeating. */
  async expireLease(
    job: JobRecord,
    settlement: Settlement,
    now: Date,
    plan?: DispatchPlan,
  ): Promise<JobRecord | undefined> {
    if (!job.attemptToken) return undefined;
    // Settled any other way than CANCELLED only if no cancel was asked since the row was read:
    // one asked meanwhile is not lost, the next sweep reads it and cancels.
    return this.settleIf(job, job.attemptToken, settlement, now, plan, {
      condition:
        settlement.status === 'CANCELLED'
          ? '#leaseExpiresAt < :now'
          : '#leaseExpiresAt < :now AND attribute_not_exists(#cancelRequestedAt)',
      values: { ':now': now.getTime() },
    });
  }
}

/**
 * Robot steps' rows, on the same table and the same update builder. A step's row is created by
 * its first claim (the workflow knows the step before any row exists), so the claim seeds the
 * row's fields where they are absent; a resumed step keeps the budget and priority it was given.
 */
export class StepJobStore implements StepJobPort {
  /** @param orderRetentionDays step rows stay as long as their order (TTL from their first claim) */
  constructor(
    private readonly tableName: string,
    private readonly orderRetentionDays = envInt('ORDER_RETENTION_DAYS', 90),
  ) {}

  async get(jobId: string): Promise<JobRecord | undefined> {
    const { Item } = await dynamo().send(
      new GetCommand({ TableName: this.tableName, Key: { jobId }, ConsistentRead: true }),
    );
    return asJob(Item);
  }

  async listForOrder(orderId: string): Promise<JobRecord[]> {
    const { Items } = await dynamo().send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: jobsByOrderIndex,
        KeyConditionExpression: 'orderId = :orderId',
        ExpressionAttributeValues: { ':orderId': orderId },
      }),
    );
    return (Items ?? []) as JobRecord[];
  }

  async claim(request: ClaimRequest): Promise<ClaimOutcome> {
    const { jobId, attemptToken, taskToken, dispatchSeq, workerId, now, leaseMs, seed, dueAt } = request;
    const at = now.toISOString();
    const lease = now.getTime() + leaseMs;
    const { jobId: _key, createdAt, ...seedFields } = seed;
    // A new attempt: a dispatch newer than the recorded one, on a job that is not finished.
    const started = await updateJobRow(this.tableName, jobId, {
      set: {
        status: 'RUNNING',
        queueStatus: queueStatusKey(seed.queue, 'RUNNING'),
        attemptToken,
        taskToken,
        dispatchSeq,
        workerId,
        startedAt: at,
        updatedAt: at,
        leaseExpiresAt: lease,
        ...(dueAt ? { runAt: dueAt.toISOString() } : {}),
      },
      setIfMissing: {
        ...seedFields,
        createdAt,
        expiresAt: Math.floor(now.getTime() / 1000) + this.orderRetentionDays * 86_400,
      },
      add: { attempts: 1 },
      condition:
        '(attribute_not_exists(#dispatchSeq) OR #dispatchSeq < :seq) AND (attribute_not_exists(#status) OR NOT (#status IN (:completed, :dead, :cancelled)))',
      values: { ':seq': dispatchSeq, ':completed': 'COMPLETED', ':dead': 'DEAD', ':cancelled': 'CANCELLED' },
    });
    if (started) return { kind: 'claimed', job: started };
    // The same attempt whose worker vanished: take it over once the lease ran out.
    const takenOver = await updateJobRow(this.tableName, jobId, {
      set: { workerId, leaseExpiresAt: lease, updatedAt: at },
      condition: '#attemptToken = :token AND #status = :running AND #leaseExpiresAt < :now',
      values: { ':token': attemptToken, ':running': 'RUNNING', ':now': now.getTime() },
    });
    if (takenOver) return { kind: 'claimed', job: takenOver };
    const job = await this.get(jobId);
    if (!job) throw new Error(`Job ${jobId} vanished while being claimed`);
    return { kind: 'taken', job };
  }

  async extendLease(
    jobId: string,
    attemptToken: string,
    until: number,
  ): Promise<'ok' | 'cancel-requested' | 'lost'> {
    const job = await updateJobRow(this.tableName, jobId, {
      set: { leaseExpiresAt: until },
      condition: '#attemptToken = :token AND #status = :running',
      values: { ':token': attemptToken, ':running': 'RUNNING' },
    });
    if (!job) return 'lost';
    return job.cancelRequestedAt ? 'cancel-requested' : 'ok';
  }

  async finish(jobId: string, attemptToken: string, outcome: StepFinish): Promise<boolean> {
    const fields: Record<string, unknown> =
      outcome.status === 'COMPLETED'
        ? { completedAt: outcome.at, result: outcome.result }
        : outcome.status === 'FAILED'
          ? { failedAt: outcome.at, lastError: outcome.error }
          : { cancelledAt: outcome.at, cancelReason: outcome.reason };
    const finished = await updateJobRow(this.tableName, jobId, {
      set: {
        status: outcome.status,
        queueStatus: queueStatusKey(outcome.queue, outcome.status),
        updatedAt: outcome.at,
        ...fields,
      },
      remove: ['leaseExpiresAt', retiredLeaseKey, 'taskToken'],
      condition: '#attemptToken = :token AND #status = :running',
      values: { ':token': attemptToken, ':running': 'RUNNING' },
    });
    return finished !== undefined;
  }
}
