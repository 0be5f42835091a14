import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type JobRecord, queueStatusKey } from '#domain/jobs';
import type { ClaimOutcome, ClaimRequest, StepJobPort } from '#domain/step-attempt';
import { dynamo, isConditionFailure } from './aws-clients.ts';
import { leaseShardOf } from './job-engine-store.ts';

export const jobsByOrderIndex = 'byOrder';

export class JobStore implements StepJobPort {
  constructor(private readonly tableName: string) {}

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
    const { jobId, attemptToken, workerId, now, leaseMs, seed } = request;
    const at = now.toISOString();
    const lease = now.getTime() + leaseMs;
    const { jobId: _key, createdAt, ...seedFields } = seed;
    const seedNames = Object.keys(seedFields);
    try {
      // A new attempt: any token but this one, on a job that is not finished.
      const { Attributes } = await dynamo().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { jobId },
          UpdateExpression: [
            'SET #status = :running, queueStatus = :queueStatus, attempts = if_not_exists(attempts, :zero) + :one',
            'attemptToken = :token, workerId = :worker, startedAt = :at, updatedAt = :at',
            'leaseExpiresAt = :lease, leaseShard = :leaseShard, createdAt = if_not_exists(createdAt, :createdAt)',
            ...seedNames.map((name) => `#seed_${name} = :seed_${name}`),
          ].join(', '),
          ConditionExpression:
            'attribute_not_exists(attemptToken) OR (attemptToken <> :token AND NOT (#status IN (:completed, :dead, :cancelled)))',
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
            ':worker': workerId,
            ':at': at,
            ':lease': lease,
            ':leaseShard': leaseShardOf(jobId),
            ':createdAt': createdAt,
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

  async extendLease(jobId: string, attemptToken: string, until: number): Promise<void> {
    try {
      await dynamo().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { jobId },
          UpdateExpression: 'SET leaseExpiresAt = :until',
          ConditionExpression: 'attemptToken = :token AND #status = :running',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':until': until, ':token': attemptToken, ':running': 'RUNNING' },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async finish(
    jobId: string,
    attemptToken: string,
    outcome:
      | { status: 'COMPLETED'; at: string; queue: string; result: Record<string, unknown> }
      | { status: 'FAILED'; at: string; queue: string; error: string },
  ): Promise<boolean> {
    const completed = outcome.status === 'COMPLETED';
    try {
      await dynamo().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { jobId },
          UpdateExpression: completed
            ? 'SET #status = :status, queueStatus = :queueStatus, completedAt = :at, updatedAt = :at, #result = :detail REMOVE leaseExpiresAt, leaseShard'
            : 'SET #status = :status, queueStatus = :queueStatus, failedAt = :at, updatedAt = :at, lastError = :detail REMOVE leaseExpiresAt, leaseShard',
          ConditionExpression: 'attemptToken = :token AND #status = :running',
          ExpressionAttributeNames: { '#status': 'status', ...(completed ? { '#result': 'result' } : {}) },
          ExpressionAttributeValues: {
            ':status': outcome.status,
            ':queueStatus': queueStatusKey(outcome.queue, outcome.status),
            ':at': outcome.at,
            ':detail': completed ? outcome.result : outcome.error,
            ':token': attemptToken,
            ':running': 'RUNNING',
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
