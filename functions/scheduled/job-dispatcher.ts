/**
 * The job engine's sweeper (every minute): finishes follow-ups whose marker outlived its grace
 * period (a send that never happened, dependents not yet told, a long delay now within SQS's
 * 15-minute reach) and settles attempts whose worker stopped heartbeating (lease expired): the
 * attempt failed, and the job is retried or goes DEAD per its policy.
 */
import middy from '@middy/core';
import { jobEngineFromEnv } from '#adapters/job-engine';
import { completeFollowUps, dispatchPlan, settleFailure } from '#domain/job-lifecycle';
import { envInt } from '#shared/env';
import { describeError, logger } from '#shared/logger';

const engine = jobEngineFromEnv('dispatcher');
const maxPerRun = envInt('DISPATCH_MAX_PER_RUN', 2000);

export interface SweepResult {
  followUps: number;
  expiredLeases: number;
  errors: number;
}

export const handler = middy<unknown, SweepResult>().handler(async () => {
  const result: SweepResult = { followUps: 0, expiredLeases: 0, errors: 0 };
  const now = new Date();
  for await (const job of engine.queries.expiredLeases(now.getTime(), maxPerRun)) {
    try {
      const current = await engine.store.get(job.jobId);
      if (current?.status !== 'RUNNING' || (current.leaseExpiresAt ?? 0) >= now.getTime()) continue;
      const error = `Worker ${current.workerId ?? '?'} stopped heartbeating (lease expired ${new Date(current.leaseExpiresAt ?? 0).toISOString()})`;
      if (current.kind === 'step') {
        const abandoned = await engine.store.abandonStepAttempt(current, error, now);
        if (!abandoned) continue;
        result.expiredLeases++;
        await engine.logs.append(job.jobId, {
          timestamp: now.toISOString(),
          level: 'WARN',
          message: `${error}: attempt ${current.attempts} failed; the workflow retries the step after its heartbeat timeout`,
          attempt: current.attempts,
          workerId: 'dispatcher',
        });
        continue;
      }
      const settlement = settleFailure(current, error, false, now, Math.random);
      const plan =
        settlement.status === 'FAILED'
          ? dispatchPlan({ runAt: settlement.runAt }, now, engine.followUps.graceMs)
          : undefined;
      const settled = await engine.store.expireLease(current, settlement, now, plan);
      if (!settled) continue;
      result.expiredLeases++;
      await engine.logs.append(job.jobId, {
        timestamp: now.toISOString(),
        level: 'WARN',
        message: `${error}: attempt ${current.attempts} failed; job is ${settled.status}`,
        attempt: current.attempts,
        workerId: 'dispatcher',
      });
      await completeFollowUps(settled, engine.followUps);
    } catch (error) {
      result.errors++;
      logger.error('Could not recover an expired lease', { jobId: job.jobId, ...describeError(error) });
    }
  }
  for await (const job of engine.queries.dueMarkers(now.toISOString(), maxPerRun)) {
    try {
      const current = await engine.store.get(job.jobId);
      if (!current?.dispatchAt || current.dispatchAt > now.toISOString()) continue;
      await completeFollowUps(current, engine.followUps);
      result.followUps++;
    } catch (error) {
      result.errors++;
      logger.error('Could not complete a job follow-up', { jobId: job.jobId, ...describeError(error) });
    }
  }
  if (result.followUps || result.expiredLeases || result.errors)
    logger.info('Job sweep finished', { ...result });
  return result;
});
