import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type JobRecord, queueStatusKey } from '#domain/jobs';
import type { ClaimOutcome, ClaimRequest, StepFinish, StepJobPort } from '#domain/step-attempt';
import { envInt } from '#shared/env';
import { dynamo, isConditionFailure } from './aws-clients.ts';
import { leaseShardOf } from './job-engine-store.ts';

export const jobsByOrderIndex = 'byOrder';

export class JobStore implements StepJobPort {
  /** @param orderRetentionDays step rows stay as long as their order (TTL from their first claim) */
  constructor(
    private readonly tableName: string,
    private readonly orderRetentionDays = envInt('ORDER_RETENTION_DAYS', 90),
  ) {}

  async get(jobId: string): Promise<JobRecord | undefined> {
    const { Item } = await dynamo().send(
      new GetCommand({ TableName: this.tableName, Key: { jobId }, ConsistentRead: true }),
    );
    return Item as JobRecord | undefined;
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
    const { jobId, attemptToken, taskToken, dispatchSeq, workerId, now, leaseMs, seed } = request;
    const at = now.toISOString();
    const lease = now.getTime() + leaseMs;
    const { jobId: _key, createdAt, ...seedFields } = seed;
    // Set only by the first claim: a resumed step keeps the budget and priority it was given.
    const seedNames = Object.keys(seedFields);
    try {
      // A new attempt: a dispatch newer than the recorded one, on a job that is not finished.
      const { Attributes } = await dynamo().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { jobId },
          UpdateExpression: [
            'SET #status = :running, queueStatus = :queueStatus, attempts = if_not_exists(attempts, :zero) + :one',
            'attemptToken = :token, taskToken = :taskToken, dispatchSeq = :seq, workerId = :worker',
            'startedAt = :at, updatedAt = :at, leaseExpiresAt = :lease, leaseShard = :leaseShard',
            'createdAt = if_not_exists(createdAt, :createdAt), expiresAt = if_not_exists(expiresAt, :expires)',
            ...seedNames.map((name) => `#seed_${name} = if_not_exists(#seed_${name}, :seed_${name})`),
          ].join(', '),
          ConditionExpression:
            '(attribute_not_exists(dispatchSeq) OR dispatchSeq < :seq) AND (attribute_not_exists(#status) OR NOT (#status IN (:completed, :dead, :cancelled)))',
          ExpressionAttributeNames: {
            '#status': 'status',
            ...Object.fromEntries(seedNames.map((name) => [`#seed_${name}`, name])),
          },
          ExpressionAttributeValues: {
            ':running': 'RUNNING',
            ':queueStatus': queueStatusKey(seed.queue, 'RUNNING'),
            ':zero': 0,
            ':one': 1,
            ':token': attemptToken,
            ':taskToken': taskToken,
            ':seq': dispatchSeq,
            ':worker': workerId,
            ':at': at,
            ':lease': lease,
            ':leaseShard': leaseShardOf(jobId),
            ':createdAt': createdAt,
            ':expires': Math.floor(now.getTime() / 1000) + this.orderRetentionDays * 86_400,
            ':completed': 'COMPLETED',
            ':dead': 'DEAD',
            ':cancelled': 'CANCELLED',
            ...Object.fromEntries(
              Object.entries(seedFields).map(([name, value]) => [`:seed_${name}`, value]),
            ),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { kind: 'claimed', job: Attributes as JobRecord };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    try {
      // The same attempt whose worker vanished: take it over once the lease ran out.
      const { Attributes } = await dynamo().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { jobId },
          UpdateExpression: 'SET workerId = :worker, leaseExpiresAt = :lease, updatedAt = :at',
          ConditionExpression: 'attemptToken = :token AND #status = :running AND leaseExpiresAt < :now',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':worker': workerId,
            ':lease': lease,
            ':at': at,
            ':token': attemptToken,
            ':running': 'RUNNING',
            ':now': now.getTime(),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { kind: 'claimed', job: Attributes as JobRecord };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const job = await this.get(jobId);
    if (!job) throw new Error(`Job ${jobId} vanished while being claimed`);
    return { kind: 'taken', job };
  }

  async extendLease(
    jobId: string,
    attemptToken: string,
    until: number,
  ): Promise<'ok' | 'cancel-requested' | 'lost'> {
    try {
      const { Attributes } = await dynamo().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { jobId },
          UpdateExpression: 'SET leaseExpiresAt = :until',
          ConditionExpression: 'attemptToken = :token AND #status = :running',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':until': until, ':token': attemptToken, ':running': 'RUNNING' },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes?.cancelRequestedAt ? 'cancel-requested' : 'ok';
    } catch (error) {
      if (isConditionFailure(error)) return 'lost';
      throw error;
    }
  }

  async finish(jobId: string, attemptToken: string, outcome: StepFinish): Promise<boolean> {
    const fields: Record<string, unknown> =
      outcome.status === 'COMPLETED'
        ? { completedAt: outcome.at, result: outcome.result }
        : outcome.status === 'FAILED'
          ? { failedAt: outcome.at, lastError: outcome.error }
          : { cancelledAt: outcome.at, cancelReason: outcome.reason };
    const names = Object.keys(fields);
    try {
      await dynamo().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { jobId },
          UpdateExpression: `SET #status = :status, queueStatus = :queueStatus, updatedAt = :at, ${names
            .map((n) => `#f_${n} = :f_${n}`)
            .join(', ')} REMOVE leaseExpiresAt, leaseShard, taskToken`,
          ConditionExpression: 'attemptToken = :token AND #status = :running',
          ExpressionAttributeNames: {
            '#status': 'status',
            ...Object.fromEntries(names.map((n) => [`#f_${n}`, n])),
          },
          ExpressionAttributeValues: {
            ':status': outcome.status,
            ':queueStatus': queueStatusKey(outcome.queue, outcome.status),
            ':at': outcome.at,
            ':token': attemptToken,
            ':running': 'RUNNING',
            ...Object.fromEntries(names.map((n) => [`:f_${n}`, fields[n]])),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}
