/**
 * POST /job-batches — a named group of jobs whose progress is counted together. All or nothing,
 * as POST /jobs/bulk: the batch row first, then its jobs; should storage fail, what was stored is
 * taken back (503). With an Idempotency-Key the batch id and its job ids follow from the key, so
 * a retry completes the batch.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as z from 'zod';
import { BatchStore } from '#adapters/batch-store';
import { jobEngineFromEnv } from '#adapters/job-engine';
import { acceptedBatchSchema } from '#domain/api-responses';
import { IntakeFailed, submitJobs } from '#domain/job-intake';
import { jobRequestSchema, maxBulkJobs } from '#domain/job-submission';
import { envInt, requireEnv } from '#shared/env';
import { httpRoute, json } from '#shared/http';
import { rejectedAsHttp } from '#shared/http-errors';

const engine = jobEngineFromEnv();
const batches = new BatchStore(requireEnv('JOB_BATCHES_TABLE'), envInt('DEAD_JOB_RETENTION_DAYS', 30) + 1);

const batchRequestSchema = z
  .object({ name: z.string().min(1).max(200), jobs: z.array(jobRequestSchema).min(1).max(maxBulkJobs) })
  .strict();

export const handler = httpRoute(
  { body: batchRequestSchema, responses: { 202: acceptedBatchSchema } },
  async ({ body, event }) => {
    const requestKey = event.headers?.['idempotency-key'];
    const batchId = requestKey
      ? `batch_${createHash('sha256').update(requestKey).digest('hex').slice(0, 20)}`
      : `batch_${Date.now().toString(36)}${randomBytes(5).toString('hex')}`;
    // The row first: a job of the batch never exists without it.
    const created = await batches.create({
      batchId,
      name: body.name,
      total: body.jobs.length,
      jobIds: [],
      createdAt: new Date().toISOString(),
      counted: true,
    });
    const accepted = await submitJobs(body.jobs, engine.intake, {
      indexed: true,
      batchId,
      ...(requestKey ? { requestKey } : {}),
    }).catch(async (error) => {
      if (created && !(error instanceof IntakeFailed && error.stored.length > 0))
        await batches.remove(batchId).catch(() => undefined);
      return rejectedAsHttp(error);
    });
    // For readers, and for the exact count that confirms a finish (domain/batch-progress.ts);
    // without them the counters alone answer.
    await batches
      .setJobIds(
        batchId,
        accepted.map((a) => a.jobId),
      )
      .catch(() => undefined);
    return json(202, {
      batchId,
      name: body.name,
      jobIds: accepted.map((a) => a.jobId),
      batchUrl: `/job-batches/${batchId}`,
    });
  },
);
