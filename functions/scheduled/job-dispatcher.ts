/**
 * The job engine's sweeper (every minute): finishes follow-ups whose marker outlived its grace
 * period (a send that never happened, dependents not yet told, a long delay now within SQS's
 * 15-minute reach), settles attempts whose worker stopped heartbeating (lease expired, see
 * domain/lease-recovery.ts) — each such attempt an outcome metric (EMF), as a worker's would be —
 * and sends a new wake-up to jobs whose own is held by an invocation that stopped
 * (domain/held-wake-ups.ts).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { heldWakeUpPorts, jobEngineFromEnv, leaseRecoveryPorts } from '#adapters/job-engine';
import { isIntakeMarkerKey } from '#adapters/jobs-table';
import { defaultHeldAfterMs, resendHeldWakeUps } from '#domain/held-wake-ups';
import { repairIntake } from '#domain/job-intake';
import { completeFollowUps } from '#domain/job-lifecycle';
import { recoverExpiredLease } from '#domain/lease-recovery';
import { envInt } from '#shared/env';
import { describeError, logger } from '#shared/logger';

const engine = jobEngineFromEnv('dispatcher');
const maxPerRun = envInt('DISPATCH_MAX_PER_RUN', 2000);
const recovery = leaseRecoveryPorts(engine);
const heldWakeUps = heldWakeUpPorts(engine);
const heldAfterMs = envInt('WAKE_UP_HELD_AFTER_MS', defaultHeldAfterMs);

export interface SweepResult {
  followUps: number;
  expiredLeases: number;
  /** Jobs sent a new wake-up: theirs was held by an invocation that stopped. */
  wakeUpsResent: number;
  errors: number;
}

export const handler = middy<unknown, SweepResult>()
  .use(injectLambdaContext(logger))
  .handler(async () => {
    const result: SweepResult = { followUps: 0, expiredLeases: 0, wakeUpsResent: 0, errors: 0 };
    const now = new Date();
    for await (const job of engine.queries.expiredLeases(now.getTime(), maxPerRun)) {
      try {
        if ((await recoverExpiredLease(job.jobId, recovery)) === 'recovered') result.expiredLeases++;
      } catch (error) {
        result.errors++;
        logger.error('Could not recover an expired lease', { jobId: job.jobId, ...describeError(error) });
      }
    }
    for await (const job of engine.queries.dueMarkers(now.toISOString(), maxPerRun)) {
      try {
        if (isIntakeMarkerKey(job.jobId)) {
          const marker = await engine.store.getIntakeMarker(job.jobId);
          if (marker && marker.dispatchAt <= now.toISOString()) {
            const sent = await repairIntake(marker, { ...engine, clock: engine.followUps.clock });
            if (sent > 0)
              logger.warn('Sent jobs whose intake did not confirm their sends', { sent, marker: job.jobId });
            result.followUps++;
          }
          continue;
        }
        const current = await engine.store.get(job.jobId);
        if (!current?.dispatchAt || current.dispatchAt > now.toISOString()) continue;
        await completeFollowUps(current, engine.followUps);
        result.followUps++;
      } catch (error) {
        result.errors++;
        logger.error('Could not complete a job follow-up', { jobId: job.jobId, ...describeError(error) });
      }
    }
    // After the follow-ups: a job whose send the sweep just redid has a visible message, not a second one.
    try {
      const held = await resendHeldWakeUps(heldWakeUps, { heldAfterMs });
      result.wakeUpsResent = held.resent;
      result.errors += held.failed + held.failedBands;
      if (held.resent > 0) logger.warn('Sent new wake-ups for jobs whose own were held', { ...held });
    } catch (error) {
      result.errors++;
      logger.error('Could not look for held wake-ups', describeError(error));
    }
    if (result.followUps || result.expiredLeases || result.wakeUpsResent || result.errors)
      logger.info('Job sweep finished', { ...result });
    return result;
  });
